-- Operation finished (status 9): the items are on the supplier invoice.
UPDATE rambase_invoice_matches
SET forward_status = :status, operation_instance_id = COALESCE(:vendor_reference, operation_instance_id),
    rambase_error = NULL, rambase_error_id = NULL, last_attempt_at = :at
WHERE id = :document_id
