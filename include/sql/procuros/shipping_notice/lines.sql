SELECT l.notice_id AS document_id, l.line_number, l.product_id, p.gtin, p.description,
       p.unit_of_measure, l.ordered_quantity, l.shipped_quantity, l.batch_number
FROM shipping_notice_lines l
JOIN products p ON p.id = l.product_id
WHERE l.notice_id IN :document_ids
