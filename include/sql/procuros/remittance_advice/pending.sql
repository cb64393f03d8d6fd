-- Payment advices still to be sent: Status empty (seed 001). We pay (payFrom, buyer); the
-- supplier is paid, at its payee address when it has one (payTo).
SELECT y.id AS document_id, y.advice_number, y.advice_date, y.payment_date AS remittance_date,
       'OWN' AS payer_id, COALESCE(y.payee_id, y.supplier_id) AS payee_id,
       'OWN' AS buyer_id, y.supplier_id, y.payment_method, y.bank_reference AS payment_reference,
       y.currency, y.version, y.attempts
FROM payments y
WHERE (y.status IS NULL OR y.status = '')
  AND (:after_id IS NULL OR y.id > :after_id)
ORDER BY y.id
LIMIT :chunk_size
