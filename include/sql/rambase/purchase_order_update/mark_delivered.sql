-- RamBase answered 200: the update is in.
UPDATE rambase_po_updates
SET rambase_status = :status, rambase_error = NULL, rambase_error_id = NULL, last_attempt_at = :at
WHERE id = :document_id
