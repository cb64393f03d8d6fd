-- What arrived per line; GTIN and unit from the product master.
SELECT l.receipt_id AS document_id, l.line_number, l.product_id, p.gtin, p.description,
       p.unit_of_measure, l.order_line_number, l.ordered_quantity,
       l.delivered_quantity AS shipped_quantity, l.received_quantity, l.rejected_quantity,
       l.reject_reason, l.batch_number, l.best_before_date
FROM goods_receipt_lines l
JOIN products p ON p.id = l.product_id
WHERE l.receipt_id IN :document_ids
