-- SYNC_ENABLED_TRADE_PARTNERS: exactly these customers trade via Procuros. Idempotent.
UPDATE partners
SET via_procuros = CASE WHEN id IN :enabled_ids THEN TRUE ELSE FALSE END
WHERE kind = 'customer'
