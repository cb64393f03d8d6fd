-- Shipments we made for fulfilment clients, still to be confirmed: Status empty (seed 001).
-- The client owns the goods (supplier); shipment_number is the client's instruction.
SELECT f.id AS document_id, f.shipment_number, f.response_date, f.client_id AS supplier_id,
       f.warehouse_id AS ship_from_id, f.ship_to_id, f.order_number, f.order_date, f.despatch_date,
       f.expected_delivery_date, f.carrier, f.tracking_number, f.package_id, f.package_type AS unit_type,
       f.version, f.attempts
FROM dispatch_confirmations f
WHERE (f.status IS NULL OR f.status = '')
  AND (:after_id IS NULL OR f.id > :after_id)
ORDER BY f.id
LIMIT :chunk_size
