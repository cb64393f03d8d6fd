-- A person checked RamBase: the operation ran, the items are on the supplier invoice. The row gets
-- its final status (and the operation instance id, when the person gave it); it is never sent again.
-- Only uncertain rows change.
UPDATE rambase_invoice_matches
SET forward_status = :status, operation_instance_id = :vendor_reference, rambase_error = NULL,
    rambase_error_id = NULL, last_attempt_at = :at
WHERE id = :document_id AND (forward_status IS NULL OR forward_status = '')
  AND operation_requested_at IS NOT NULL AND operation_instance_id IS NULL
