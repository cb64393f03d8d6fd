-- The forwarding request got no answer: RamBase may have run the operation (outcome UNCERTAIN).
-- Not a refusal, no attempt: the row keeps its request mark, so it is not sent again, and says what
-- to check in RamBase until a person releases it (`erp-outbound release`).
UPDATE rambase_invoice_matches
SET rambase_error = :last_error, last_attempt_at = :at
WHERE id = :document_id AND (forward_status IS NULL OR forward_status = '')
