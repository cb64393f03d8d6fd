SELECT l.invoice_id AS document_id, l.line_number, l.product_id, p.gtin, p.description,
       p.unit_of_measure, l.quantity, l.unit_price, p.tax_rate
FROM invoice_lines l
JOIN products p ON p.id = l.product_id
WHERE l.invoice_id IN :document_ids
