-- For `erp-outbound status`: documents per Status, with error links and attempts.
SELECT COALESCE(status, '') AS status, COUNT(*) AS documents,
       SUM(CASE WHEN error_url IS NOT NULL THEN 1 ELSE 0 END) AS with_error_url,
       SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS with_attempts,
       MAX(attempts) AS max_attempts
FROM payments
GROUP BY COALESCE(status, '')
ORDER BY 1
