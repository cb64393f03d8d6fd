-- Operation ended in error (7), RamBase refused it, or it could not be built: keep the error, and the
-- id of the failed operation instance (7) to look it up in RamBase. Only a request mark means "an
-- operation to poll" (pending.sql), so a failed one is requested again once the data is fixed.
-- A journal entry from before the UNCERTAIN outcome (REJECTED with status UNCERTAIN: no answer to the
-- POST) keeps its request mark until a person has checked RamBase.
UPDATE rambase_invoice_matches
SET rambase_error = :last_error, rambase_error_id = :error_code, attempts = attempts + 1, last_attempt_at = :at,
    operation_instance_id = CASE WHEN :status = 'UNCERTAIN' THEN operation_instance_id ELSE :vendor_reference END,
    operation_requested_at = CASE WHEN :status = 'UNCERTAIN' THEN operation_requested_at ELSE NULL END
WHERE id = :document_id AND (forward_status IS NULL OR forward_status = '')
