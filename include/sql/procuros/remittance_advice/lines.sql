-- The invoices and credit notes a payment settles; a deduction (e.g. cash discount) becomes a correction.
SELECT i.payment_id AS document_id, i.line_number, i.document_number, i.document_date, i.document_type,
       i.due_amount, i.discount_amount AS deduction_amount, i.discount_reason AS deduction_reason,
       i.paid_amount AS remitted_amount
FROM payment_items i
WHERE i.payment_id IN :document_ids
