-- Dispatch instructions still to be sent to the fulfilment provider: Status empty (seed 001).
-- We are the supplier; the provider's warehouse ships (shipFrom).
SELECT d.id AS document_id, d.shipment_number, d.instruction_date,
       d.logistics_partner_id AS ship_from_id, d.ship_to_id, d.customer_id, 'OWN' AS supplier_id,
       d.customer_order_number AS order_number, d.customer_order_date AS order_date,
       d.requested_delivery_date, d.requested_despatch_date, d.shipping_method, d.delivery_notes,
       d.currency, d.version, d.attempts
FROM dispatch_instructions d
WHERE (d.status IS NULL OR d.status = '')
  AND (:after_id IS NULL OR d.id > :after_id)
ORDER BY d.id
LIMIT :chunk_size
