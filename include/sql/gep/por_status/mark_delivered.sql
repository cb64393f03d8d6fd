-- GEP listed the key in successDetails.
UPDATE gep_por_statuses SET ack_status = :status, ack_errors = NULL, last_attempt_at = :at
WHERE id = :document_id
