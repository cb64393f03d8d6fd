-- RamBase said it did not run the operation (429/503, or refused the request): it may go again.
UPDATE rambase_invoice_matches SET operation_requested_at = NULL
WHERE id = :document_id AND operation_instance_id IS NULL
