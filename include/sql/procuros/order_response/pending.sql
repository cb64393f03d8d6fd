SELECT r.id AS document_id, r.response_number, r.response_date, r.response_type,
       r.customer_id AS buyer_id, 'OWN' AS supplier_id,
       r.customer_order_number AS order_number, r.customer_order_date AS order_date,
       r.confirmed_delivery_date, r.currency, r.version, r.attempts
FROM order_responses r
WHERE (r.status IS NULL OR r.status = '')
  AND (:after_id IS NULL OR r.id > :after_id)
ORDER BY r.id
LIMIT :chunk_size
