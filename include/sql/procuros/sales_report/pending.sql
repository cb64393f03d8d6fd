-- Sales reports still to be sent to the supplier: Status empty (seed 001). We are the buyer.
SELECT r.id AS document_id, r.report_number, r.report_date, r.period_start, r.period_end,
       'OWN' AS buyer_id, r.supplier_id, r.currency, r.comments, r.attempts
FROM sales_reports r
WHERE (r.status IS NULL OR r.status = '')
  AND (:after_id IS NULL OR r.id > :after_id)
ORDER BY r.id
LIMIT :chunk_size
