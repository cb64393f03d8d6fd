-- The partners' delivery, billing and payment addresses (role: shipTo | billTo | payTo).
SELECT a.partner_id, a.id AS party_id, a.role, a.name, a.gln, NULL AS vat_id, NULL AS duns,
       a.street, a.city, a.postal_code, a.country_code,
       a.contact_first_name, a.contact_last_name, a.contact_email, a.contact_phone, NULL AS contact_fax
FROM partner_addresses a
WHERE a.partner_id IN :partner_ids
ORDER BY a.partner_id, a.id
