-- Purchase order responses the ERP has processed, whose acknowledgement to GEP is pending.
SELECT s.id AS document_id, s.order_number AS gep_key, s.processing_status AS status,
       s.comment AS description, s.source_system_name, s.source_system_value, s.lob, s.error_code,
       s.attempts
FROM gep_por_statuses s
WHERE (s.ack_status IS NULL OR s.ack_status = '')
  AND (:after_id IS NULL OR s.id > :after_id)
ORDER BY s.id
LIMIT :chunk_size
