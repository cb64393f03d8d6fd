-- Catalogs still to be sent: Status empty (seed 001). One row is one catalog for one receiver;
-- catalog_number may be NULL (the catalog is then named "catalog <id> for <receiver>").
SELECT c.id AS document_id, c.catalog_number, c.catalog_date,
       'OWN' AS sender_id, c.customer_id AS receiver_id, c.currency, c.comments, c.version, c.attempts
FROM product_catalogs c
WHERE (c.status IS NULL OR c.status = '')
  AND (:after_id IS NULL OR c.id > :after_id)
ORDER BY c.id
LIMIT :chunk_size
