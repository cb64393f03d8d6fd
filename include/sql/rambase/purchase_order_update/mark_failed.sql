-- RamBase refused it (400/403/404) or it could not be built: stays pending with the error.
UPDATE rambase_po_updates
SET rambase_error = :last_error, rambase_error_id = :error_code, attempts = attempts + 1, last_attempt_at = :at
WHERE id = :document_id AND (rambase_status IS NULL OR rambase_status = '')
