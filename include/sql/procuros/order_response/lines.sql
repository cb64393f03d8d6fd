SELECT l.response_id AS document_id, l.line_number, l.product_id, p.gtin, p.description,
       p.unit_of_measure, l.ordered_quantity, l.confirmed_quantity, l.unit_price
FROM order_response_lines l
JOIN products p ON p.id = l.product_id
WHERE l.response_id IN :document_ids
