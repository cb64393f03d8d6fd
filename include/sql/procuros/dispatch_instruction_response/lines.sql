-- What was shipped per instructed line; a short line says what happens to the rest.
SELECT l.confirmation_id AS document_id, l.line_number, l.product_id, p.gtin, p.description, p.unit_of_measure,
       l.instruction_line_number, l.ordered_quantity, l.shipped_quantity, l.open_quantity_action,
       l.batch_number, l.best_before_date
FROM dispatch_confirmation_lines l
JOIN products p ON p.id = l.product_id
WHERE l.confirmation_id IN :document_ids
