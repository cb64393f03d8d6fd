SELECT c.id AS document_id, c.credit_note_number, c.credit_note_date,
       c.customer_id AS buyer_id, 'OWN' AS supplier_id,
       c.invoice_number, c.invoice_date, c.reason, c.currency, c.version, c.attempts
FROM credit_notes c
WHERE (c.status IS NULL OR c.status = '')
  AND (:after_id IS NULL OR c.id > :after_id)
ORDER BY c.id
LIMIT :chunk_size
