-- Just before the POST: from now on this document is never POSTed again without a person.
UPDATE rambase_invoice_matches SET operation_requested_at = :at WHERE id = :document_id
