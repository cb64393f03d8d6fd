-- GEP listed the key in errorDetails, or the row has no key: keep the errors, stays pending.
UPDATE gep_por_statuses SET ack_errors = :last_error, attempts = attempts + 1, last_attempt_at = :at
WHERE id = :document_id AND (ack_status IS NULL OR ack_status = '')
