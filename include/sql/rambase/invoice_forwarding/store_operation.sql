-- The operation instance id, stored before any polling: a restart resumes it instead of POSTing.
UPDATE rambase_invoice_matches SET operation_instance_id = :instance_id WHERE id = :document_id
