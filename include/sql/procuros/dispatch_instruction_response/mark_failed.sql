-- Rejected by Procuros (400/422) or not buildable: Status stays empty so the document
-- goes again next run; keep the portal link and the reason, count the attempt.
UPDATE dispatch_confirmations
SET error_url = COALESCE(:error_url, error_url), last_error = :last_error,
    attempts = attempts + 1, last_attempt_at = :at
WHERE id = :document_id AND (status IS NULL OR status = '')
