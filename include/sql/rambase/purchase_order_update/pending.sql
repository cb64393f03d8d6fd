-- Purchase-order updates RamBase has not taken yet (rambase_status empty). Keyset paging by id.
SELECT u.id AS document_id, u.purchase_order_id, u.suppliers_reference, u.suppliers_reference_number,
       u.currency, u.note, u.ship_to_attention, u.location_id, u.assignee_user_id, u.supplier_id,
       u.ship_from_address_id, u.delivery_terms, u.delivery_term_place, u.shipping_service_id,
       u.payment_terms, u.attempts
FROM rambase_po_updates u
WHERE (u.rambase_status IS NULL OR u.rambase_status = '')
  AND (:after_id IS NULL OR u.id > :after_id)
ORDER BY u.id
LIMIT :chunk_size
