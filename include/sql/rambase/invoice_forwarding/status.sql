SELECT CASE WHEN forward_status IS NOT NULL AND forward_status <> '' THEN forward_status
            WHEN supplier_invoice_id IS NULL THEN '(not matched)'
            WHEN operation_requested_at IS NOT NULL AND operation_instance_id IS NULL THEN '(uncertain: check in RamBase)'
            WHEN rambase_error_id IS NOT NULL THEN '(refused: fix, clear error id)'
            WHEN operation_instance_id IS NOT NULL AND operation_requested_at IS NOT NULL THEN '(operation running)'
            ELSE '' END AS status,
       COUNT(*) AS documents,
       SUM(CASE WHEN rambase_error_id IS NOT NULL THEN 1 ELSE 0 END) AS with_error_url,
       SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS with_attempts,
       MAX(attempts) AS max_attempts
FROM rambase_invoice_matches
GROUP BY 1
ORDER BY 1
