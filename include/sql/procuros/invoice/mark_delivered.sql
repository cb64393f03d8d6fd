-- Procuros took the document (201 TRANSMITTED, 202 NO_ACTION): give it its status.
UPDATE invoices
SET status = :status, error_url = NULL, last_error = NULL,
    procuros_transaction_id = :vendor_reference, last_attempt_at = :at
WHERE id = :document_id
