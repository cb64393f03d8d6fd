-- EXPORT_CUSTOMERS: every customer with its main party and whether it may trade via Procuros.
SELECT p.id AS party_id, p.name, p.gln, p.vat_id, p.duns,
       p.street, p.city, p.postal_code, p.country_code,
       p.contact_first_name, p.contact_last_name, p.contact_email, p.contact_phone, p.contact_fax,
       p.is_enabled
FROM partners p
WHERE p.kind = 'customer'
ORDER BY p.id
