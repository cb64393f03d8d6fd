-- Stock reports still to be sent to the owner of the goods: Status empty (seed 001).
SELECT s.id AS document_id, s.report_number, s.report_date, s.warehouse_id, s.owner_id AS goods_owner_id,
       s.comments, s.version, s.attempts
FROM stock_reports s
WHERE (s.status IS NULL OR s.status = '')
  AND (:after_id IS NULL OR s.id > :after_id)
ORDER BY s.id
LIMIT :chunk_size
