-- Rows whose forwarding request went out without an answer: RamBase may have run the operation.
-- `erp-outbound status` lists them with what to check; `erp-outbound release` releases them.
SELECT m.id AS document_id, m.purchase_order_response_id AS identifier, m.supplier_invoice_id,
       m.operation_requested_at AS requested_at, m.attempts, m.rambase_error AS last_error
FROM rambase_invoice_matches m
WHERE (m.forward_status IS NULL OR m.forward_status = '')
  AND m.operation_requested_at IS NOT NULL AND m.operation_instance_id IS NULL
ORDER BY m.id
