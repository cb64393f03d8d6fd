-- What to ship per line, and a batch when the warehouse must ship a particular one.
SELECT l.instruction_id AS document_id, l.line_number, l.product_id, p.gtin, p.description,
       p.unit_of_measure, l.order_line_number, l.ordered_quantity, l.quantity_to_ship, l.unit_price,
       l.batch_number
FROM dispatch_instruction_lines l
JOIN products p ON p.id = l.product_id
WHERE l.instruction_id IN :document_ids
