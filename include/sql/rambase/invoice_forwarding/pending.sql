-- Order responses matched to a supplier invoice and not forwarded yet. An operation is not
-- idempotent, so rows RamBase refused or whose operation failed (an error id is kept) wait
-- for a person to fix them and clear rambase_error_id; rows whose request went out without
-- an answer (requested, no operation id) wait for a person to check RamBase and release them.
-- An operation id counts as running (to be polled, never POSTed again) while the request mark
-- is set; the id of a failed operation is only kept for reference.
SELECT m.id AS document_id, m.purchase_order_response_id, m.supplier_invoice_id,
       CASE WHEN m.operation_requested_at IS NOT NULL THEN m.operation_instance_id END AS operation_instance_id,
       m.attempts
FROM rambase_invoice_matches m
WHERE (m.forward_status IS NULL OR m.forward_status = '')
  AND m.supplier_invoice_id IS NOT NULL
  AND NOT (m.operation_requested_at IS NOT NULL AND m.operation_instance_id IS NULL)
  AND m.rambase_error_id IS NULL
  AND (:after_id IS NULL OR m.id > :after_id)
ORDER BY m.id
LIMIT :chunk_size
