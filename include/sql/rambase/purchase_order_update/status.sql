SELECT COALESCE(rambase_status, '') AS status, COUNT(*) AS documents,
       SUM(CASE WHEN rambase_error_id IS NOT NULL THEN 1 ELSE 0 END) AS with_error_url,
       SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS with_attempts,
       MAX(attempts) AS max_attempts
FROM rambase_po_updates
GROUP BY COALESCE(rambase_status, '')
ORDER BY 1
