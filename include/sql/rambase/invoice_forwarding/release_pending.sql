-- A person checked RamBase: the operation did not run. The row is pending again and the next run
-- POSTs it (once: the request mark is written again before the POST). Only uncertain rows change.
UPDATE rambase_invoice_matches
SET operation_requested_at = NULL, rambase_error = NULL, last_attempt_at = :at
WHERE id = :document_id AND (forward_status IS NULL OR forward_status = '')
  AND operation_requested_at IS NOT NULL AND operation_instance_id IS NULL
