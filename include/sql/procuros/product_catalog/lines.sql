-- Catalog items: our article (senderPartnerId), the customer's article number, the GTIN; action NEW/CHANGED/DELETED.
SELECT i.catalog_id AS document_id, i.line_number, i.product_id, p.gtin, p.description, p.unit_of_measure,
       i.customer_article_number, i.action, i.pack_quantity AS quantity, i.is_orderable, i.unit_price,
       i.price_valid_from, i.price_valid_until, i.recommended_retail_price, i.minimum_order_quantity,
       p.tax_rate
FROM product_catalog_items i
JOIN products p ON p.id = i.product_id
WHERE i.catalog_id IN :document_ids
