-- Every party a Procuros document can name (our company, customers, suppliers and
-- their delivery/billing addresses), looked up by the ids the pending.sql files return.
SELECT p.id AS party_id, p.name, p.gln, p.vat_id, p.duns,
       p.street, p.city, p.postal_code, p.country_code,
       p.contact_first_name, p.contact_last_name, p.contact_email, p.contact_phone, p.contact_fax
FROM partners p
WHERE p.id IN :party_ids
UNION ALL
SELECT a.id AS party_id, a.name, a.gln, NULL AS vat_id, NULL AS duns,
       a.street, a.city, a.postal_code, a.country_code,
       a.contact_first_name, a.contact_last_name, a.contact_email, a.contact_phone, NULL AS contact_fax
FROM partner_addresses a
WHERE a.id IN :party_ids
