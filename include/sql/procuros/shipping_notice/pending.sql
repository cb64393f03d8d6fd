SELECT n.id AS document_id, n.notice_number, n.notice_date,
       n.customer_id AS buyer_id, 'OWN' AS supplier_id, n.ship_to_id,
       n.customer_order_number AS order_number, n.customer_order_date AS order_date,
       n.despatch_date, n.expected_delivery_date, n.carrier, n.tracking_number, n.package_id,
       n.version, n.attempts
FROM shipping_notices n
WHERE (n.status IS NULL OR n.status = '')
  AND (:after_id IS NULL OR n.id > :after_id)
ORDER BY n.id
LIMIT :chunk_size
