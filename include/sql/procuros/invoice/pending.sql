SELECT i.id AS document_id, i.invoice_number, i.invoice_date, i.due_date,
       i.customer_id AS buyer_id, 'OWN' AS supplier_id,
       i.customer_order_number AS order_number, i.customer_order_date AS order_date,
       i.notice_number, i.notice_date, i.currency, i.payment_days, i.version, i.attempts
FROM invoices i
WHERE (i.status IS NULL OR i.status = '')
  AND (:after_id IS NULL OR i.id > :after_id)
ORDER BY i.id
LIMIT :chunk_size
