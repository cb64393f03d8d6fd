-- Stock per article (and batch).
SELECT l.report_id AS document_id, l.line_number, l.product_id, p.gtin, p.description, p.unit_of_measure,
       l.available_quantity, l.blocked_quantity, l.inbound_quantity AS ordered_quantity, l.batch_number,
       l.best_before_date
FROM stock_report_lines l
JOIN products p ON p.id = l.product_id
WHERE l.report_id IN :document_ids
