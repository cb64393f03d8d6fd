"""What every Procuros document type shares: parties, items, dates and build checks.

The inputs are the frames the user's SQL returned (see include/sql/procuros). Checks
are vectorised masks; each failing document gets a build error naming the field.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built, id_text
from erp_outbound.core.build import Problems, built, shown

UNITS_OF_MEASURE = frozenset(
    "EA GRM HUR KGM LTR MLT MTK MTR PCK SET CS CA DAY WEE MON CT CQ CU BJ BO MTQ PF BG RO TNE BE CMT KMT PR TU".split()
)


def _parse_times(values: pd.Series, tz: str) -> pd.Series:
    """Timestamps in ``tz``. Naive values are ERP local time; values with an offset keep it;
    dotted dates (01.02.2026) are day first, as in German ERPs."""
    text = values.astype("string").str.strip()
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values)
        if parsed.dt.tz is None:
            return parsed.dt.tz_localize(tz, ambiguous=np.ones(len(parsed), dtype=bool), nonexistent="shift_forward")
        return parsed.dt.tz_convert(tz)
    with_offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True).fillna(False)
    dotted = text.str.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}(?: .*)?").fillna(False)
    # Microseconds: years 1 to 9999, as RFC 3339 allows (nanoseconds would end at 2262 and fail the chunk).
    naive = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    plain = ~with_offset & ~dotted
    if plain.any():
        naive[plain] = pd.to_datetime(values[plain], errors="coerce", format="mixed").astype("datetime64[us]")
    if dotted.any():
        naive[dotted] = pd.to_datetime(text[dotted], errors="coerce", format="mixed", dayfirst=True).astype(
            "datetime64[us]")
    result = naive.dt.tz_localize(tz, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward")
    if with_offset.any():
        aware = pd.to_datetime(text[with_offset], errors="coerce", format="mixed", utc=True).dt.tz_convert(tz)
        result[with_offset] = aware
    return result


def datetimes(values: pd.Series, tz: str) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 with the UTC offset Procuros requires, and a mask of unreadable values."""
    parsed = _parse_times(values, tz)
    given = values.notna() & (values.astype("string").str.strip() != "")
    return J.string(iso_with_offset(parsed)), given & parsed.isna()


def iso_with_offset(parsed: pd.Series) -> pd.Series:
    """2026-11-02T09:00:00+01:00 for each time-zone aware timestamp (strftime is 10x slower)."""
    wall = parsed.dt.tz_localize(None)
    utc = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = np.datetime_as_string(wall.to_numpy().astype("datetime64[s]"), unit="s")
    minutes = ((wall - utc).dt.total_seconds() // 60).fillna(0).astype(int)
    offsets = minutes.map({m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}" for m in minutes.unique()})
    return (pd.Series(stamps, index=parsed.index, dtype=J.TEXT) + offsets.astype(J.TEXT)).where(parsed.notna())


def party_texts(parties: pd.DataFrame, internal_fallback: bool = False) -> pd.DataFrame:
    """Per party id: its JSON (``json``), whether it has an identifier, a bad country code or email.

    With ``internal_fallback`` a party without GLN, German VAT id or DUNS is identified by
    its ERP id (domain SENDER_INTERNAL), as master-data exports need one identifier each.
    """
    idx = parties.index

    def identifier(column: str, domain: str, keep: pd.Series | None = None) -> pd.Series:
        values = parties[column] if column in parties else pd.Series(pd.NA, index=idx)
        values = values.astype(J.TEXT).str.strip().mask(lambda s: s == "")
        if keep is not None:
            values = values.where(keep)
        return J.optional_obj({"identifier": J.string(values), "domain": J.constant(domain, idx)}, idx).where(values.notna())

    vat = parties.get("vat_id", pd.Series(pd.NA, index=idx)).astype(J.TEXT)
    identifiers = [
        identifier("gln", "GS1"),
        identifier("vat_id", "VAT_DE", keep=vat.str.upper().str.startswith("DE")),
        identifier("duns", "DUNS"),
    ]
    has_identifier = pd.concat([i.notna() for i in identifiers], axis=1).any(axis=1)
    if internal_fallback:
        internal = J.obj({"identifier": J.string(idx.to_series()), "domain": J.constant("SENDER_INTERNAL", idx)}, idx)
        identifiers.append(internal.where(~has_identifier))
    country = parties["country_code"].astype(J.TEXT).str.strip()
    bad_country = country.notna() & (country != "") & ~country.str.fullmatch(r"[A-Z]{2}").fillna(False)
    email = parties.get("contact_email", pd.Series(pd.NA, index=idx)).astype(J.TEXT).str.strip()
    bad_email = email.notna() & (email != "") & ~email.str.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+").fillna(False)

    address = J.optional_obj({
        "name": J.string(parties["name"]),
        "street": J.string(parties["street"]),
        "city": J.string(parties["city"]),
        "postalCode": J.string(parties["postal_code"]),
        "countryCode": J.string(country),
    }, idx)
    contact = J.optional_obj({
        "firstName": J.string(parties.get("contact_first_name", pd.Series(pd.NA, index=idx))),
        "lastName": J.string(parties.get("contact_last_name", pd.Series(pd.NA, index=idx))),
        "email": J.string(parties.get("contact_email", pd.Series(pd.NA, index=idx))),
        "phone": J.string(parties.get("contact_phone", pd.Series(pd.NA, index=idx))),
        "fax": J.string(parties.get("contact_fax", pd.Series(pd.NA, index=idx))),
    }, idx)
    party = J.obj({
        "name": J.string(parties["name"]),
        "identifiers": J.array(*identifiers, index=idx),
        "postalAddress": address,
        "contacts": ("[" + contact + "]"),
    }, idx)
    return pd.DataFrame({
        "json": party, "has_identifier": has_identifier,
        "bad_country": country.where(bad_country), "bad_email": email.where(bad_email),
    }, index=idx)


def party_role(headers: pd.DataFrame, parties: pd.DataFrame, column: str, role: str,
               problems: Problems, required: bool = True) -> pd.Series:
    """The JSON of the party each document names in ``column``; checks it can be resolved."""
    ids = id_text(headers[column]) if column in headers else pd.Series(pd.NA, index=headers.index, dtype=J.TEXT)
    return party_of(ids, parties, column, role, problems, required)


def party_of(ids: pd.Series, parties: pd.DataFrame, column: str, role: str, problems: Problems,
             required: bool = True, field: str | None = None) -> pd.Series:
    """The JSON of each party id in ``ids`` (indexed by document id; a document may name
    several, e.g. a sales report's locations); build errors under ``field`` (default: ``role``)."""
    field = field or role
    known = ids.isin(parties.index)
    if required:
        problems.add(ids.isna(), field, f"no {role} party ({column} is empty)")
    problems.add(ids.notna() & ~known, field, lambda: f"{role} party " + shown(ids) + " is not in the ERP's partners")
    found = ids.where(known)
    has_identifier = found.map(parties["has_identifier"]).astype("boolean")
    problems.add(
        found.notna() & ~has_identifier.fillna(False) & (required or role != "shipTo"),
        f"{field}.identifiers",
        lambda: f"{role} party " + shown(ids) + " has no GLN, German VAT id or DUNS",
    )
    bad_country = found.map(parties["bad_country"])
    problems.add(bad_country.notna(), f"{field}.postalAddress.countryCode",
                 lambda: f"{role} party " + shown(ids) + " has country code " + shown(bad_country)
                 + ", not an ISO 3166 alpha-2 code")
    bad_email = found.map(parties["bad_email"])
    problems.add(bad_email.notna(), f"{field}.contacts.email",
                 lambda: f"{role} party " + shown(ids) + " has contact email " + shown(bad_email)
                 + ", not an email address")
    return J._text(found.map(parties["json"]))


def required_text(headers: pd.DataFrame, column: str, name: str, problems: Problems) -> pd.Series:
    text = J.string(headers[column])
    problems.add(text.isna(), name, f"{name} is empty ({column})")
    return text


def required_line_text(lines: pd.DataFrame, column: str, name: str, problems: Problems) -> pd.Series:
    text = J.string(lines[column])
    problems.add_lines(lines, text.isna(), name, f"{name} is empty ({column})")
    return text


def required_datetime(headers: pd.DataFrame, column: str, name: str, tz: str, problems: Problems) -> pd.Series:
    text, bad = datetimes(headers[column], tz)
    problems.add(bad, name, lambda: f"{name} is not a date: " + shown(headers[column]))
    problems.add(headers[column].isna(), name, f"{name} is empty ({column})")
    return text


def optional_datetime(headers: pd.DataFrame, column: str, name: str, tz: str, problems: Problems) -> pd.Series:
    if column not in headers:
        return pd.Series(pd.NA, index=headers.index, dtype=J.TEXT)
    text, bad = datetimes(headers[column], tz)
    problems.add(bad, name, lambda: f"{name} is not a date: " + shown(headers[column]))
    return text


def currency(headers: pd.DataFrame, problems: Problems, column: str = "currency") -> pd.Series:
    values = headers[column].astype(J.TEXT).str.strip() if column in headers else pd.Series(pd.NA, index=headers.index, dtype=J.TEXT)
    bad = values.notna() & ~values.str.fullmatch(r"[A-Z]{3}").fillna(False)
    problems.add(bad, "currency", lambda: "currency " + shown(values) + " is not an ISO 4217 code")
    return J.string(values)


def gtins(lines: pd.DataFrame, problems: Problems, field: str = "identifiers") -> pd.Series:
    """Each line's GTIN; a missing or malformed one is a build error, as is a line number used twice."""
    gtin = lines["gtin"].astype(J.TEXT).str.strip().mask(lambda s: s == "")

    def product() -> pd.Series:
        return shown(lines.get("product_id", pd.Series(pd.NA, index=lines.index)))

    problems.add_lines(lines, gtin.isna(), field, lambda: "product " + product() + " has no GTIN")
    malformed = gtin.notna() & ~gtin.str.fullmatch(r"\d{8}|\d{12,14}").fillna(False)
    problems.add_lines(lines, malformed, field,
                       lambda: "GTIN " + shown(gtin) + " of product " + product() + " is not 8, 12, 13 or 14 digits")
    wrong_check = gtin.notna() & ~malformed & ~gs1_check_digit_ok(gtin.fillna("0" * 14).where(~malformed, "0" * 14))
    problems.add_lines(lines, wrong_check, field,
                       lambda: "GTIN " + shown(gtin) + " of product " + product() + " has a wrong check digit")
    duplicate = lines.duplicated(["document_id", "line_number"], keep="last")
    problems.add_lines(lines, duplicate, "lineNumber",
                       lambda: "line number " + shown(lines["line_number"]) + " appears twice")
    return gtin


def item_identifiers(lines: pd.DataFrame, problems: Problems) -> pd.Series:
    """The GS1 identifier (GTIN) of each line as ``identifiers``; see :func:`gtins`."""
    gtin = gtins(lines, problems)
    element = J.obj({"identifier": J.string(gtin), "domain": J.constant("GS1", lines.index)}, lines.index)
    return "[" + element + "]"


def product_identity(lines: pd.DataFrame, problems: Problems, receiver_column: str | None = None) -> pd.Series:
    """A ProductCatalogIdentity per line: our article number, the receiver's (``receiver_column``), the GTIN."""
    li = lines.index
    receiver = lines[receiver_column] if receiver_column else pd.Series(pd.NA, index=li)
    return J.obj({
        "senderPartnerId": J.string(lines["product_id"]),
        "receiverPartnerId": J.string(receiver),
        "gtin": J.string(gtins(lines, problems, "identity.gtin")),
    }, li)


_GS1_WEIGHTS = np.array([3 if (12 - i) % 2 == 0 else 1 for i in range(13)])


def gs1_check_digit_ok(codes: pd.Series) -> pd.Series:
    """GS1 mod-10 check of digit strings (GTIN-8/12/13/14, GLN), vectorised over a padded digit matrix."""
    padded = codes.astype(str).str.zfill(14).to_numpy(dtype="U14")
    digits = np.frombuffer("".join(padded).encode("ascii"), dtype=np.uint8).reshape(-1, 14) - 48
    expected = (10 - (digits[:, :13] @ _GS1_WEIGHTS) % 10) % 10
    return pd.Series(expected == digits[:, 13], index=codes.index)


def money(values: pd.Series) -> pd.Series:
    """Round to cents, half up as commercial rounding does (floats would round 0.105 down)."""
    return np.sign(values) * np.floor(np.abs(values) * 100 + 0.5 + 1e-9) / 100


def optional_number(lines: pd.DataFrame, column: str, name: str, problems: Problems, decimals: int = 4) -> pd.Series:
    """A number that may be missing, but not unreadable (e.g. '12,50')."""
    values = J.numeric(lines[column])
    unreadable = lines[column].notna() & values.isna()
    problems.add_lines(lines, unreadable, name, lambda: f"{name} is not a number: " + shown(lines[column]))
    return J.number(values, decimals)


def unit_of_measure(lines: pd.DataFrame, problems: Problems) -> pd.Series:
    units = lines["unit_of_measure"].astype(J.TEXT).str.strip().str.upper()
    bad = units.notna() & ~units.isin(UNITS_OF_MEASURE)
    problems.add_lines(lines, bad, "unitOfMeasure",
                       lambda: "unit of measure " + shown(units) + " is not a Procuros unit")
    return J.string(units)


def required_quantity(lines: pd.DataFrame, column: str, name: str, problems: Problems) -> pd.Series:
    values = J.numeric(lines[column])
    problems.add_lines(lines, values.isna() | (values < 0), name, f"{name} is missing or negative ({column})")
    return J.number(values, 3)


def quantity_values(lines: pd.DataFrame, column: str, name: str, problems: Problems,
                    required: bool = False) -> pd.Series:
    """Quantities as numbers: unreadable or negative values are build errors, and so is a missing
    one when ``required``."""
    values = J.numeric(lines[column])
    given = lines[column].notna()
    problems.add_lines(lines, (given | required) & values.isna() | (values < 0), name,
                       lambda: f"{name} is missing, not a number or negative ({column}): " + shown(lines[column]))
    return values


def required_number(lines: pd.DataFrame, column: str, name: str, problems: Problems, decimals: int = 2) -> pd.Series:
    """A number that must be there (an amount: negative values are fine)."""
    values = J.numeric(lines[column])
    problems.add_lines(lines, values.isna(), name,
                       lambda: f"{name} is missing or not a number ({column}): " + shown(lines[column]))
    return J.number(values, decimals)


def code(frame: pd.DataFrame, column: str, name: str, allowed: tuple[str, ...], problems: Problems,
         lines: bool = False) -> pd.Series:
    """An optional code from the spec's enum (upper-cased); any other value is a build error."""
    values = frame[column].astype(J.TEXT).str.strip().str.upper().mask(lambda s: s == "")
    bad = values.notna() & ~values.isin(allowed)

    def message() -> pd.Series:
        return f"{name} " + shown(frame[column]) + f" ({column}) is not one of {', '.join(allowed)}"

    if lines:
        problems.add_lines(frame, bad, name, message)
    else:
        problems.add(bad, name, message)
    return J.string(values)


def line_datetime(lines: pd.DataFrame, column: str, name: str, tz: str, problems: Problems) -> pd.Series:
    """An optional date-time of a line (with its UTC offset)."""
    text, bad = datetimes(lines[column], tz)
    problems.add_lines(lines, bad, name, lambda: f"{name} is not a date: " + shown(lines[column]))
    return text


def dates(lines: pd.DataFrame, column: str, name: str, tz: str, problems: Problems) -> pd.Series:
    """An optional calendar date (the spec's ``Date``, e.g. a best-before date): 2026-11-02,
    read as the date-times are (dotted dates day first; a value with an offset on its day in ``tz``)."""
    values = lines[column]
    parsed = _parse_times(values, tz).dt.tz_localize(None)
    given = values.notna() & (values.astype("string").str.strip() != "")
    problems.add_lines(lines, given & parsed.isna(), name, lambda: f"{name} is not a date: " + shown(values))
    text = np.datetime_as_string(parsed.to_numpy().astype("datetime64[D]"), unit="D")
    return J.string(pd.Series(text, index=lines.index).where(parsed.notna()))


def batches(lines: pd.DataFrame, quantity: pd.Series, tz: str, problems: Problems,
            expiry_column: str | None = "best_before_date") -> pd.Series:
    """``[{batchIdentifier, expirationDate, quantity}]`` for lines with a batch number, else missing."""
    li = lines.index
    expiry = (dates(lines, expiry_column, "batches.expirationDate", tz, problems) if expiry_column
              else pd.Series(pd.NA, index=li, dtype=J.TEXT))
    batch = J.obj({
        "batchIdentifier": J.string(lines["batch_number"]),
        "expirationDate": expiry,
        "quantity": J.number(quantity, 3),
    }, li)
    return ("[" + batch + "]").where(J.string(lines["batch_number"]).notna())


def header_values(values: pd.Series, lines: pd.DataFrame) -> pd.Series:
    """A per-document value (indexed by document id) repeated on each of its lines."""
    return pd.Series(values.reindex(lines["document_id"]).to_numpy(), index=lines.index, dtype=values.dtype)


def require_items(headers: pd.DataFrame, items: pd.Series, problems: Problems) -> None:
    problems.add(items.isna(), "items", "the document has no lines")


def finish(doc_type: str, headers: pd.DataFrame, identifier_column: str, content: pd.Series,
           problems: Problems) -> Built:
    """The transaction body per document, or its build errors."""
    idx = headers.index
    body = J.obj({"type": J.constant(doc_type, idx), "content": content}, idx)
    return built(headers, identifier_column, body, problems)
