-- Goods receipts still to be reported to the supplier: Status empty (seed 001). We are the customer.
SELECT g.id AS document_id, g.receipt_number, g.receipt_date,
       'OWN' AS customer_id, g.supplier_id, g.warehouse_id AS ship_to_id,
       g.purchase_order_number AS order_number, g.purchase_order_date AS order_date,
       g.delivery_note_number, g.delivery_note_date, g.package_id, g.package_type AS unit_type,
       g.comments, g.version, g.attempts
FROM goods_receipts g
WHERE (g.status IS NULL OR g.status = '')
  AND (:after_id IS NULL OR g.id > :after_id)
ORDER BY g.id
LIMIT :chunk_size
