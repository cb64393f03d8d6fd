-- Procuros took the document (201 TRANSMITTED, 202 NO_ACTION): give it its status;
-- for NO_ACTION keep Procuros' message (e.g. "Trade relationship not yet active.").
UPDATE dispatch_confirmations
SET status = :status, error_url = NULL, last_error = :message,
    procuros_transaction_id = :vendor_reference, procuros_status = :vendor_status, last_attempt_at = :at
WHERE id = :document_id
