-- Operation ended in error (7), RamBase refused it, or it could not be built: keep the error.
-- A finished operation may be requested again once the data is fixed; an UNCERTAIN one (no
-- answer to the POST) keeps its request mark until a person has checked RamBase.
UPDATE rambase_invoice_matches
SET rambase_error = :last_error, rambase_error_id = :error_code, attempts = attempts + 1, last_attempt_at = :at,
    operation_instance_id = CASE WHEN :status = 'UNCERTAIN' THEN operation_instance_id ELSE NULL END,
    operation_requested_at = CASE WHEN :status = 'UNCERTAIN' THEN operation_requested_at ELSE NULL END
WHERE id = :document_id AND (forward_status IS NULL OR forward_status = '')
