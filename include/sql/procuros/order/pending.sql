-- Purchase orders still to be sent: Status empty (seed 001). Keyset paging by id.
SELECT o.id AS document_id, o.order_number, o.order_date,
       'OWN' AS buyer_id, o.supplier_id, o.ship_to_id,
       o.currency, o.requested_delivery_date, o.comments, o.version, o.attempts
FROM purchase_orders o
WHERE (o.status IS NULL OR o.status = '')
  AND (:after_id IS NULL OR o.id > :after_id)
ORDER BY o.id
LIMIT :chunk_size
