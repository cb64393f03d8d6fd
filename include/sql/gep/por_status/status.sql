SELECT COALESCE(ack_status, '') AS status, COUNT(*) AS documents,
       SUM(CASE WHEN ack_errors IS NOT NULL THEN 1 ELSE 0 END) AS with_error_url,
       SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS with_attempts,
       MAX(attempts) AS max_attempts
FROM gep_por_statuses
GROUP BY COALESCE(ack_status, '')
ORDER BY 1
