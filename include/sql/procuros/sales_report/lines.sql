-- Sales per line; location_id names the selling location (a party, see parties.sql).
SELECT l.report_id AS document_id, l.line_number, l.location_id, l.product_id, p.gtin, p.description,
       p.unit_of_measure, l.quantity AS sales_quantity, l.unit_price, p.tax_rate
FROM sales_report_lines l
JOIN products p ON p.id = l.product_id
WHERE l.report_id IN :document_ids
