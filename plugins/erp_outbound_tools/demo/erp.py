"""The demo ERP: create ``include/erp/demo_schema.sql`` and fill it with realistic documents.

``build_demo_erp(url, documents, seed)`` builds a trading company's ERP slice in any
SQLAlchemy database (SQLite, PostgreSQL, MariaDB): our own company (partner ``OWN``),
customers (``KU-1000``...), suppliers (``LI-2000``...), their delivery, billing and
payment addresses, products, and ``documents`` outgoing documents split over the five
Procuros types, all pending (status NULL, attempts 0).

The data is deterministic for a given seed (no wall clock: dates are relative to
:data:`ANCHOR`), and deliberately imperfect, so that a demo run shows every outcome:

- about 5 % of the documents cannot be built into a valid payload, each for exactly one
  reason (:data:`UNBUILDABLE_REASONS`): a line whose product has no GTIN, a receiving
  partner without any identifier (no GLN, VAT id or DUNS), or a malformed currency code;
- about 3 % go to partners whose GLNs start with :data:`INACTIVE_GLN_PREFIX` (the Procuros
  sandbox answers 202 "Trade relationship not yet active" -> NO_ACTION);
- about 3 % go to partners whose GLNs start with :data:`UNKNOWN_GLN_PREFIX` (the sandbox
  answers 422, unknown party -> status stays empty, REJECTED);
- everything else is expected to be TRANSMITTED.

The receiving partner is the supplier for ORDER and the customer for the other types.
Every GLN, GTIN and SSCC carries a valid GS1 mod-10 check digit; normal GLNs start with
``40`` or ``43`` and never with ``4098``/``4099``.

Three more tables feed the RamBase and GEP flows (see :func:`_integration_tables`); their
rows come from a random generator of their own, so a seed's Procuros data is the same as
before they existed. All rows are pending; the planted cases, each counted in the summary:

- ``rambase_po_updates`` (documents // 10 rows): optional fields present in 60-90 % of the
  rows; about 3 % break one documented constraint of ``PUT procurement/orders`` (BUILD_ERROR,
  :data:`RAMBASE_PO_CONSTRAINED_FIELDS`); purchase order ids pick the sandbox's answer:
  :data:`RAMBASE_PO_OK_IDS` 200 (SYNCED), about 2 % in :data:`RAMBASE_PO_NOT_FOUND_IDS`
  (404, 100089), 2 % in :data:`RAMBASE_PO_CURRENCY_IDS` with currency EUR (400, 108018; 1 % more
  there with USD go through), 1 % in :data:`RAMBASE_PO_MISSING_DUTY_IDS` (403): REJECTED;
- ``rambase_invoice_matches`` (documents // 20 rows): about 10 % unmatched (no supplier
  invoice: not pending work), 2 % with a supplier invoice id below 100000 (BUILD_ERROR);
  response ids pick the sandbox's behaviour (:data:`RAMBASE_MATCH_CASES`): 15 % finish after
  a few polls, 3 % end in status 7 after polls, 2 % at once (ERROR), the rest finish at once;
- ``gep_por_statuses`` (documents // 10 rows): 80 % Processed, 20 % Failed with a comment and
  an error code; about 3 % without an order number (BUILD_ERROR "Key is mandatory"), 4 % with
  one starting with ``X`` (the GEP sandbox: "Invalid Order Number" -> ERRORED).

Each of the three has at least 10 rows, and then at least one row of every planted case.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlparse
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from erp_outbound.erp import migrations, state
from erp_outbound.resources import include_dir

# include/erp/demo_schema.sql: the checkout's, or the wheel's copy
SCHEMA_PATH = include_dir() / "erp" / "demo_schema.sql"

#: All demo dates are relative to this (naive, local) moment; no wall clock is used.
ANCHOR = dt.datetime(2026, 11, 2, 9, 0)

#: Procuros document type -> (table, line table, foreign key of the line table, number prefix)
DOCUMENT_TYPES: dict[str, tuple[str, str, str, str]] = {
    "ORDER": ("purchase_orders", "purchase_order_lines", "order_id", "PO"),
    "ORDER_RESPONSE": ("order_responses", "order_response_lines", "response_id", "AB"),
    "SHIPPING_NOTICE": ("shipping_notices", "shipping_notice_lines", "notice_id", "LS"),
    "INVOICE": ("invoices", "invoice_lines", "invoice_id", "RE"),
    "CREDIT_NOTE": ("credit_notes", "credit_note_lines", "credit_note_id", "GS"),
}
TYPE_SHARES = {"ORDER": 0.30, "ORDER_RESPONSE": 0.15, "SHIPPING_NOTICE": 0.20, "INVOICE": 0.30, "CREDIT_NOTE": 0.05}
#: The column holding the receiving partner, per document type.
RECEIVER_COLUMN = {
    "ORDER": "supplier_id",
    "ORDER_RESPONSE": "customer_id",
    "SHIPPING_NOTICE": "customer_id",
    "INVOICE": "customer_id",
    "CREDIT_NOTE": "customer_id",
}

OWN_ID = "OWN"
INACTIVE_GLN_PREFIX = "4099"  # sandbox: 202 "Trade relationship not yet active." -> NO_ACTION
UNKNOWN_GLN_PREFIX = "4098"  # sandbox: 422 unknown party -> REJECTED (status stays empty)

MISSING_GTIN = "missing_gtin"
PARTNER_WITHOUT_IDENTIFIER = "partner_without_identifier"
INVALID_CURRENCY = "invalid_currency"
UNBUILDABLE_REASONS = (MISSING_GTIN, PARTNER_WITHOUT_IDENTIFIER, INVALID_CURRENCY)
#: Malformed currency codes (Procuros wants ``^[A-Z]{3}$``); all fit the VARCHAR(3) column.
BAD_CURRENCIES = ("EU", "eur", "€")

UNBUILDABLE_SHARE = 0.05
INACTIVE_SHARE = 0.03
UNKNOWN_SHARE = 0.03

UNITS_OF_MEASURE = ("EA", "KGM", "LTR", "MTR", "PCK", "CS")

_CHUNK = 5000

# --------------------------------------------------------------------------- GS1 helpers


def gs1_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit of ``body`` (all digits of a GLN/GTIN/SSCC but the last)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return str((10 - total % 10) % 10)


def gs1_valid(code: str | None) -> bool:
    """True if ``code`` is all digits and its last digit is the right GS1 check digit."""
    return bool(code) and code.isdigit() and len(code) >= 2 and gs1_check_digit(code[:-1]) == code[-1]


# --------------------------------------------------------------------------- schema


def _split_sql(source: str) -> list[str]:
    """Split an SQL script into statements, without comments and without their closing ``;``."""
    statements = sqlparse.split(sqlparse.format(source, strip_comments=True))
    return [s for s in (stmt.strip().rstrip(";").strip() for stmt in statements) if s]


_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`]?(\w+)", re.I)


def schema_statements(path: Path | None = None) -> list[tuple[str | None, str]]:
    """The statements of the demo schema as ``(created table or None, statement)``."""
    source = Path(path or SCHEMA_PATH).read_text(encoding="utf-8")
    out = []
    for stmt in _split_sql(source):
        m = _CREATE_TABLE.match(stmt)
        out.append((m.group(1) if m else None, stmt))
    return out


def demo_tables(path: Path | None = None) -> list[str]:
    """The demo tables in creation order (drop them in reverse)."""
    return [t for t, _ in schema_statements(path) if t]


def create_schema(engine: sa.Engine, reset: bool) -> list[str]:
    statements = schema_statements()
    tables = [t for t, _ in statements if t]
    with engine.begin() as conn:
        if engine.dialect.name in ("mysql", "mariadb"):
            # Without this (the default before MariaDB 10.10 / MySQL 8.0.2), MySQL gives the first
            # TIMESTAMP NOT NULL column of a table DEFAULT CURRENT_TIMESTAMP ON UPDATE
            # CURRENT_TIMESTAMP: writing a status back would overwrite the document date.
            try:
                conn.exec_driver_sql("SET SESSION explicit_defaults_for_timestamp = 1")
            except sa.exc.DBAPIError:  # pragma: no cover - read-only on some old servers
                pass
        if reset:
            # Children first; CASCADE (PostgreSQL) also drops what tables of another demo version refer to.
            cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
            if engine.dialect.name in ("mysql", "mariadb"):
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 0")
            for table in reversed(tables):
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}{cascade}")
            # erp-outbound's own bookkeeping refers to the old documents' ids: start afresh.
            for table in reversed(state.metadata.sorted_tables):
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table.name}")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {migrations.VERSION_TABLE}")
            if engine.dialect.name in ("mysql", "mariadb"):
                conn.exec_driver_sql("SET SESSION foreign_key_checks = 1")
            existing: set[str] = set()
        else:
            existing = set(sa.inspect(conn).get_table_names())
        for table, stmt in statements:
            if existing and (table is None or table in existing):
                continue  # reset=False on an existing schema: create only the missing tables
            conn.exec_driver_sql(stmt)
        if not reset:
            for table in tables:
                if conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar():
                    raise ValueError(
                        f"The demo table {table} already holds rows; build the demo ERP with reset=True"
                    )
    return tables


# --------------------------------------------------------------------------- reference data

# (city, postal codes, phone area code) per country
_CITIES: dict[str, list[tuple[str, tuple[str, ...], str]]] = {
    "DE": [
        ("Berlin", ("10115", "10178", "10243", "10719", "12099", "13353"), "30"),
        ("Hamburg", ("20095", "20457", "21079", "22041", "22525"), "40"),
        ("München", ("80331", "80335", "80807", "81379"), "89"),
        ("Köln", ("50667", "50823", "51063"), "221"),
        ("Frankfurt am Main", ("60311", "60327", "60486", "65933"), "69"),
        ("Stuttgart", ("70173", "70372", "70565"), "711"),
        ("Düsseldorf", ("40210", "40213", "40549"), "211"),
        ("Leipzig", ("04109", "04129", "04356"), "341"),
        ("Dortmund", ("44135", "44147", "44339"), "231"),
        ("Essen", ("45127", "45141", "45329"), "201"),
        ("Bremen", ("28195", "28197", "28307"), "421"),
        ("Dresden", ("01067", "01099", "01219"), "351"),
        ("Hannover", ("30159", "30179", "30453"), "511"),
        ("Nürnberg", ("90402", "90411", "90441"), "911"),
        ("Mannheim", ("68159", "68169", "68219"), "621"),
        ("Bielefeld", ("33602", "33609", "33719"), "521"),
        ("Münster", ("48143", "48153", "48163"), "251"),
        ("Augsburg", ("86150", "86153", "86167"), "821"),
        ("Kiel", ("24103", "24106", "24148"), "431"),
        ("Freiburg im Breisgau", ("79098", "79108", "79111"), "761"),
        ("Regensburg", ("93047", "93053", "93055"), "941"),
        ("Kassel", ("34117", "34123"), "561"),
        ("Mainz", ("55116", "55129"), "6131"),
        ("Karlsruhe", ("76131", "76185"), "721"),
    ],
    "AT": [
        ("Wien", ("1010", "1030", "1100", "1110", "1230"), "1"),
        ("Graz", ("8010", "8020", "8055"), "316"),
        ("Linz", ("4020", "4030"), "732"),
        ("Salzburg", ("5020", "5071"), "662"),
        ("Innsbruck", ("6020",), "512"),
    ],
    "NL": [
        ("Amsterdam", ("1012 AB", "1043 DP", "1096 AC"), "20"),
        ("Rotterdam", ("3011 AD", "3089 KN"), "10"),
        ("Utrecht", ("3511 AX", "3542 AD"), "30"),
        ("Eindhoven", ("5611 AZ", "5652 AM"), "40"),
        ("Venlo", ("5928 PN", "5911 AA"), "77"),
    ],
    "FR": [
        ("Paris", ("75001", "75011", "75015"), "1"),
        ("Lyon", ("69002", "69007"), "4"),
        ("Strasbourg", ("67000", "67100"), "3"),
        ("Lille", ("59000", "59160"), "3"),
        ("Marseille", ("13001", "13015"), "4"),
    ],
}
_COUNTRIES = ("DE", "AT", "NL", "FR")
_COUNTRY_P = (0.80, 0.08, 0.07, 0.05)
_DIAL = {"DE": "+49", "AT": "+43", "NL": "+31", "FR": "+33"}
_TLD = {"DE": "de", "AT": "at", "NL": "nl", "FR": "fr"}

_STREETS = {
    "DE": ("Hauptstraße", "Bahnhofstraße", "Industriestraße", "Gewerbering", "Am Hafen", "Lindenallee",
           "Schillerstraße", "Goethestraße", "Friedrichstraße", "Robert-Bosch-Straße", "Carl-Zeiss-Ring",
           "Mühlenweg", "Im Gewerbepark", "Dieselstraße", "Siemensstraße", "Hafenstraße", "Lagerstraße",
           "Werner-von-Siemens-Ring", "Kantstraße", "Otto-Hahn-Straße", "Max-Planck-Straße", "Zum Frachtzentrum"),
    "AT": ("Mariahilfer Straße", "Landstraßer Hauptstraße", "Industriezeile", "Gewerbepark",
           "Triester Straße", "Wiener Straße", "Linzer Straße"),
    "NL": ("Keizersgracht", "Industrieweg", "Stationsplein", "Havenstraat", "Energieweg",
           "Transportweg", "Kanaalweg"),
    "FR": ("Rue de la République", "Avenue Jean Jaurès", "Boulevard Haussmann", "Rue du Commerce",
           "Rue de l'Industrie", "Avenue de la Gare", "Zone Industrielle des Forges"),
}

_FIRST = {
    "DE": ("Anna", "Lena", "Julia", "Laura", "Sarah", "Katharina", "Sabine", "Petra", "Claudia", "Monika",
           "Thomas", "Michael", "Andreas", "Stefan", "Christian", "Markus", "Jan", "Tobias", "Florian",
           "Matthias", "Jürgen", "Uwe", "Sven", "Jonas", "Lukas", "Birgit", "Heike", "Frank", "Dirk", "Nina"),
    "NL": ("Daan", "Sem", "Lieke", "Emma", "Jeroen", "Sanne", "Bram", "Femke", "Ruben", "Anouk"),
    "FR": ("Camille", "Julien", "Claire", "Nicolas", "Sophie", "Antoine", "Élodie", "Mathieu", "Léa", "Hugo"),
}
_FIRST["AT"] = _FIRST["DE"]
_LAST = {
    "DE": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
           "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
           "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
           "Krause", "Meier", "Lehmann", "Vogel", "Jäger", "Kaiser", "Fuchs", "Peters", "Scholz"),
    "AT": ("Gruber", "Huber", "Bauer", "Wagner", "Pichler", "Steiner", "Moser", "Mayer", "Hofer", "Leitner"),
    "NL": ("de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos"),
    "FR": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"),
}

_FANTASY = {
    "DE": ("Nordlicht", "Rheintal", "Elbe", "Hanse", "Spreewald", "Isar", "Weser", "Bodensee", "Schwarzwald",
           "Harz", "Taunus", "Mosel", "Lindenhof", "Sonnenhof", "Eichenwald", "Ostsee", "Allgäu", "Main",
           "Westfalen", "Rhön", "Altmark", "Lausitz"),
    "AT": ("Alpenland", "Donau", "Tirol", "Wachau", "Kärnten", "Steirer", "Salzach", "Vorarlberg"),
    "NL": ("Noordzee", "Holland", "Zuiderzee", "Maas", "Oranje", "Tulp", "Delta", "Rijnmond"),
    "FR": ("Atlantique", "Provence", "Alsace", "Loire", "Bretagne", "Rhône", "Normandie", "Lorraine"),
}
_BRANCH = {
    "DE": ("Handel", "Lebensmittel", "Großhandel", "Logistik", "Feinkost", "Getränke", "Bürobedarf",
           "Werkzeuge", "Technik", "Industriebedarf", "Frischmarkt", "Vertrieb", "Baustoffe", "Elektro",
           "Haushaltswaren", "Gastro-Service"),
    "NL": ("Handel", "Groothandel", "Levensmiddelen", "Logistiek", "Distributie", "Techniek"),
    "FR": ("Distribution", "Alimentation", "Négoce", "Fournitures", "Logistique", "Équipement"),
}
_BRANCH["AT"] = _BRANCH["DE"]
_LEGAL = {
    "DE": ("GmbH", "GmbH", "GmbH", "GmbH & Co. KG", "GmbH & Co. KG", "AG", "KG", "e.K.", "OHG"),
    "AT": ("GmbH", "GmbH", "GmbH", "AG", "KG", "OG"),
    "NL": ("B.V.", "B.V.", "B.V.", "N.V."),
    "FR": ("SARL", "SAS", "SAS", "S.A."),
}
_SHIP_NAMES = {
    "DE": ("Zentrallager", "Lager", "Filiale", "Werk", "Logistikzentrum", "Wareneingang"),
    "AT": ("Zentrallager", "Lager", "Filiale", "Werk"),
    "NL": ("Distributiecentrum", "Magazijn", "Vestiging"),
    "FR": ("Entrepôt", "Plateforme logistique", "Magasin"),
}
_BILL_NAMES = {"DE": "Buchhaltung", "AT": "Buchhaltung", "NL": "Administratie", "FR": "Comptabilité"}
_PAY_NAMES = {"DE": "Zahlungsverkehr", "AT": "Zahlungsverkehr", "NL": "Betalingen", "FR": "Service paiements"}

# (description, unit of measure, tax rate, typical net price in EUR)
_CATALOG: tuple[tuple[str, str, float, float], ...] = (
    ("Kugelschreiber blau", "EA", 19.0, 0.90),
    ("Ordner A4 breit", "EA", 19.0, 2.50),
    ("LED-Leuchtmittel E27 9 W", "EA", 19.0, 4.20),
    ("Arbeitshandschuhe Nitril Gr. 9", "EA", 19.0, 3.10),
    ("Akku-Bohrschrauber 18 V", "EA", 19.0, 129.00),
    ("Verlängerungskabel 5 m", "EA", 19.0, 8.90),
    ("Thermoskanne 1 l", "EA", 19.0, 19.90),
    ("Kaffeebecher 300 ml", "EA", 19.0, 3.50),
    ("Sicherheitsschuhe S3 Gr. 43", "EA", 19.0, 69.00),
    ("Schraubendreher-Set 6-tlg.", "EA", 19.0, 14.50),
    ("Toner schwarz", "EA", 19.0, 39.90),
    ("USB-C Ladekabel 1 m", "EA", 19.0, 7.90),
    ("Gabelhubwagen 2.500 kg", "EA", 19.0, 389.00),
    ("Europalette 1200 x 800", "EA", 19.0, 18.50),
    ("Spülmittel 500 ml", "EA", 19.0, 1.49),
    ("Olivenöl nativ extra 0,5 l", "EA", 7.0, 6.49),
    ("Bio-Haferflocken 500 g", "EA", 7.0, 1.29),
    ("Espresso ganze Bohne 1 kg", "EA", 7.0, 14.90),
    ("Vollmilch 3,5 % 1 l", "EA", 7.0, 1.15),
    ("Basmati-Reis 1 kg", "EA", 7.0, 2.79),
    ("Tomatenmark 200 g", "EA", 7.0, 0.89),
    ("Weizenmehl Type 405, lose", "KGM", 7.0, 0.62),
    ("Kristallzucker, lose", "KGM", 7.0, 0.95),
    ("Rohkaffee Arabica", "KGM", 7.0, 6.80),
    ("Holzschrauben 4 x 40 verzinkt", "KGM", 19.0, 9.50),
    ("PE-Granulat natur", "KGM", 19.0, 1.45),
    ("Hydrauliköl HLP 46", "LTR", 19.0, 3.20),
    ("Reinigungskonzentrat", "LTR", 19.0, 4.90),
    ("Rapsöl raffiniert", "LTR", 7.0, 1.90),
    ("Händedesinfektion", "LTR", 19.0, 7.50),
    ("Mantelleitung NYM-J 3 x 1,5", "MTR", 19.0, 0.89),
    ("PVC-Gewebeschlauch 19 mm", "MTR", 19.0, 2.40),
    ("Rundstahlkette 6 mm verzinkt", "MTR", 19.0, 4.60),
    ("Kopierpapier A4 80 g (500 Blatt)", "PCK", 19.0, 4.99),
    ("Kabelbinder 200 mm (100 Stk.)", "PCK", 19.0, 3.40),
    ("Servietten 3-lagig (100 Stk.)", "PCK", 19.0, 2.20),
    ("Einweghandschuhe Nitril (100 Stk.)", "PCK", 19.0, 6.90),
    ("Mineralwasser still 12 x 1 l", "CS", 19.0, 5.40),
    ("Apfelsaft naturtrüb 6 x 1 l", "CS", 19.0, 8.90),
    ("Dosentomaten 12 x 400 g", "CS", 7.0, 9.60),
    ("Nudeln Penne 12 x 500 g", "CS", 7.0, 11.40),
)
_BRANDS = ("Hansa", "Nordwerk", "Alpina", "ProLine", "Rheingold", "Bergquell", "Sonnentau", "Ecoline",
           "Lindmann", "Küstenkind", "Werkmeister", "Feldhof", "Brandt & Söhne", "Optimo", "Vitalis")
_VARIANTS = ("", "", "", "", " Premium", " Classic", " Eco", " Profi", " XL", " Bio", " 2er-Pack")

_PO_COMMENTS = (
    "Bitte Liefertermin bestätigen.",
    "Anlieferung nur werktags 7-15 Uhr.",
    "Rampe 3, Avis 24 h vorher.",
    "Teillieferungen nicht erlaubt.",
    "Lieferschein bitte mit Bestellnummer.",
    "Palettentausch erforderlich.",
)
_CN_REASONS = (
    "Retoure - Ware beschädigt",
    "Preisdifferenz lt. Vereinbarung",
    "Mengendifferenz beim Wareneingang",
    "Transportschaden",
    "Falschlieferung",
    "Bonus Q3/2026",
    "Mindesthaltbarkeit unterschritten",
)
_CARRIERS = ("DHL", "DPD", "UPS", "GLS", "DB Schenker", "Dachser")
_ORDER_NUMBER_PREFIXES = ("45", "PO", "B-", "BE", "4700", "EK-", "")


# --------------------------------------------------------------------------- helpers


def _ascii_slug(text: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue",
                           "é": "e", "è": "e", "É": "e", "ê": "e", "à": "a", "ç": "c", "ô": "o"})
    return re.sub(r"[^a-z0-9]+", "-", text.translate(table).lower()).strip("-")


def _split_counts(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Largest-remainder split of ``total`` by ``shares`` (sums exactly to ``total``)."""
    raw = {k: total * v for k, v in shares.items()}
    out = {k: int(math.floor(v)) for k, v in raw.items()}
    rest = total - sum(out.values())
    for k in sorted(raw, key=lambda k: (-(raw[k] - out[k]), list(shares).index(k)))[:rest]:
        out[k] += 1
    return out


def _share(n: int, p: float) -> int:
    return int(math.floor(n * p + 0.5))


def _none_where(values: list, mask: np.ndarray) -> list:
    return [None if m else v for v, m in zip(values, mask.tolist())]


def _pick(rng: np.random.Generator, seq: Sequence[Any]) -> Any:
    return seq[int(rng.integers(len(seq)))]


def _weights(rng: np.random.Generator, n: int, exponent: float = 0.9) -> np.ndarray:
    """Zipf-like popularity weights in random order: a few big partners, a long tail."""
    w = 1.0 / np.arange(1, n + 1) ** exponent
    w = w[rng.permutation(n)]
    return w / w.sum()


class _Codes:
    """Unique GS1 codes with valid check digits."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.used: set[str] = set()

    def company_prefix(self, kind: str = "normal") -> str:
        """A 9-digit GS1 company prefix; GLNs of a partner's locations share it."""
        while True:
            if kind == "inactive":
                prefix = INACTIVE_GLN_PREFIX + f"{int(self.rng.integers(10**5)):05d}"
            elif kind == "unknown":
                prefix = UNKNOWN_GLN_PREFIX + f"{int(self.rng.integers(10**5)):05d}"
            else:
                head = "40" if self.rng.random() < 0.7 else "43"
                prefix = head + f"{int(self.rng.integers(10**7)):07d}"
                if prefix.startswith((INACTIVE_GLN_PREFIX, UNKNOWN_GLN_PREFIX)):
                    continue
            if prefix not in self.used:
                self.used.add(prefix)
                return prefix

    @staticmethod
    def gln(prefix: str, location: int) -> str:
        body = f"{prefix}{location:03d}"
        return body + gs1_check_digit(body)

    def gtin13(self, prefix7: str) -> str:
        while True:
            body = prefix7 + f"{int(self.rng.integers(10**5)):05d}"
            if body not in self.used:
                self.used.add(body)
                return body + gs1_check_digit(body)


# --------------------------------------------------------------------------- master data

_OWN_PREFIX = "401234500"  # our GS1 company prefix (9 digits); SSCCs use its first 7 digits


def _own_rows() -> tuple[dict, list[dict]]:
    own = dict(
        id=OWN_ID, kind="self", name="Spreeland Handelsgesellschaft mbH",
        gln=_Codes.gln(_OWN_PREFIX, 0), vat_id="DE287654321", duns="314159265",
        street="Friedrichstraße 123", city="Berlin", postal_code="10117", country_code="DE",
        contact_first_name="Katrin", contact_last_name="Vogel",
        contact_email="katrin.vogel@spreeland-handel.de", contact_phone="+49 30 2345670-12",
        contact_fax="+49 30 2345670-99", is_enabled=True, via_procuros=False,
    )
    base = dict(partner_id=OWN_ID, contact_first_name="Jens", contact_last_name="Albrecht",
                contact_email="wareneingang@spreeland-handel.de", contact_phone="+49 30 2345670-40")
    addresses = [
        dict(base, id="OWN-S1", role="shipTo", name="Spreeland Zentrallager Berlin-Spandau",
             gln=_Codes.gln(_OWN_PREFIX, 1), street="Am Juliusturm 40", city="Berlin",
             postal_code="13599", country_code="DE"),
        dict(base, id="OWN-S2", role="shipTo", name="Spreeland Lager Hamburg",
             gln=_Codes.gln(_OWN_PREFIX, 2), street="Hafenstraße 12", city="Hamburg",
             postal_code="20457", country_code="DE", contact_phone="+49 40 3344550-0"),
        dict(base, id="OWN-B1", role="billTo", name="Spreeland Handelsgesellschaft mbH Buchhaltung",
             gln=_Codes.gln(_OWN_PREFIX, 10), street="Friedrichstraße 123", city="Berlin",
             postal_code="10117", country_code="DE", contact_first_name="Katrin",
             contact_last_name="Vogel", contact_email="buchhaltung@spreeland-handel.de",
             contact_phone="+49 30 2345670-20"),
    ]
    return own, addresses


class _Partners:
    """Customers or suppliers, by category, plus the arrays the document generator needs."""

    def __init__(self, ids: list[str], category: np.ndarray, enabled: np.ndarray, ship_count: np.ndarray):
        self.ids = np.array(ids, dtype=object)
        self.category = category  # normal | noid | inactive | unknown
        self.enabled = enabled
        self.ship_count = ship_count  # number of shipTo addresses (0..2)

    def pool(self, category: str) -> np.ndarray:
        return np.flatnonzero((self.category == category) & self.enabled)


def _person(rng: np.random.Generator, country: str) -> tuple[str, str]:
    return _pick(rng, _FIRST[country]), _pick(rng, _LAST[country])


def _phone(rng: np.random.Generator, country: str, area: str) -> tuple[str, str]:
    number = f"{int(rng.integers(200000, 9999999))}"
    phone = f"{_DIAL[country]} {area} {number}-{int(rng.integers(0, 100))}"
    return phone, f"{_DIAL[country]} {area} {number}-99"


def _street(rng: np.random.Generator, country: str) -> str:
    name = _pick(rng, _STREETS[country])
    number = f"{int(rng.integers(1, 181))}"
    if rng.random() < 0.1:
        number += "ab"[int(rng.integers(2))]
    return f"{number} {name}" if country == "FR" else f"{name} {number}"


def _vat(rng: np.random.Generator, country: str) -> str:
    if country == "AT":
        return f"ATU{int(rng.integers(10**7, 10**8))}"
    if country == "NL":
        return f"NL{int(rng.integers(10**8, 10**9))}B01"
    if country == "FR":
        return f"FR{int(rng.integers(10, 100))}{int(rng.integers(10**8, 10**9))}"
    return f"DE{int(rng.integers(10**8, 10**9))}"


def _company_name(rng: np.random.Generator, country: str, used: set[str]) -> str:
    for _ in range(50):
        style = rng.random()
        if country == "FR":
            name = f"{_pick(rng, _BRANCH['FR'])} {_pick(rng, _FANTASY['FR'] + _LAST['FR'])} {_pick(rng, _LEGAL['FR'])}"
        elif country == "NL":
            name = f"{_pick(rng, _FANTASY['NL'] + _LAST['NL'])} {_pick(rng, _BRANCH['NL'])} {_pick(rng, _LEGAL['NL'])}"
        elif style < 0.45:
            name = f"{_pick(rng, _LAST[country])} {_pick(rng, _BRANCH[country])} {_pick(rng, _LEGAL[country])}"
        elif style < 0.85:
            name = f"{_pick(rng, _FANTASY[country])} {_pick(rng, _BRANCH[country])} {_pick(rng, _LEGAL[country])}"
        else:
            a, b = _pick(rng, _LAST[country]), _pick(rng, _LAST[country])
            name = f"{a} & {b} {_pick(rng, ('OHG', 'KG', 'GmbH'))}"
        if name not in used:
            used.add(name)
            return name
    name = f"{name} {len(used)}"
    used.add(name)
    return name


def _make_partners(
    rng: np.random.Generator, codes: _Codes, kind: str, first_number: int, count: int,
    specials: int, used_names: set[str],
) -> tuple[list[dict], list[dict], _Partners]:
    """``count`` partners of ``kind``; ``specials`` each without identifiers, inactive, unknown."""
    prefix = "KU" if kind == "customer" else "LI"
    category = np.array(["normal"] * count, dtype=object)
    order = rng.permutation(count)
    for i, cat in enumerate(("noid", "inactive", "unknown")):
        category[order[i * specials : (i + 1) * specials]] = cat
    normal = np.flatnonzero(category == "normal")
    enabled = np.ones(count, dtype=bool)
    # about 5 % of the ordinary partners are disabled (they still appear in EXPORT_* results)
    enabled[rng.permutation(normal)[: max(1, _share(len(normal), 0.05))]] = False
    ship_count = np.zeros(count, dtype=np.int64)

    partners: list[dict] = []
    addresses: list[dict] = []
    for i in range(count):
        pid = f"{prefix}-{first_number + i}"
        cat = category[i]
        country = _COUNTRIES[int(rng.choice(4, p=_COUNTRY_P))]
        city, postals, area = _pick(rng, _CITIES[country])
        name = _company_name(rng, country, used_names)
        domain = f"{_ascii_slug(' '.join(name.split()[:2]))}.{_TLD[country]}"
        first, last = _person(rng, country)
        phone, fax = _phone(rng, country, area)
        has_ids = cat != "noid"
        company_prefix = codes.company_prefix(cat) if has_ids else None
        partners.append(dict(
            id=pid, kind=kind, name=name,
            gln=_Codes.gln(company_prefix, 0) if has_ids else None,
            vat_id=_vat(rng, country) if has_ids and rng.random() < 0.92 else None,
            duns=f"{int(rng.integers(10**8, 10**9))}" if has_ids and rng.random() < 0.3 else None,
            street=_street(rng, country), city=city, postal_code=_pick(rng, postals), country_code=country,
            contact_first_name=first, contact_last_name=last,
            contact_email=f"{_ascii_slug(first)}.{_ascii_slug(last)}@{domain}",
            contact_phone=phone, contact_fax=fax if rng.random() < 0.7 else None,
            is_enabled=bool(enabled[i]), via_procuros=False,
        ))

        def address(suffix: str, role: str, label: str, location: int, same_place: bool) -> dict:
            if same_place:
                street, a_city, postal, a_area = partners[-1]["street"], city, partners[-1]["postal_code"], area
            else:
                a_city, a_postals, a_area = _pick(rng, _CITIES[country])
                street, postal = _street(rng, country), _pick(rng, a_postals)
            a_first, a_last = _person(rng, country)
            return dict(
                id=f"{pid}-{suffix}", partner_id=pid, role=role, name=f"{name} {label}",
                gln=_Codes.gln(company_prefix, location) if has_ids else None,
                street=street, city=a_city, postal_code=postal, country_code=country,
                contact_first_name=a_first, contact_last_name=a_last,
                contact_email=f"{_ascii_slug(a_first)}.{_ascii_slug(a_last)}@{domain}",
                contact_phone=_phone(rng, country, a_area)[0],
            )

        if kind == "customer":
            n_ship = 1 + int(rng.random() < 0.45)
            for s in range(1, n_ship + 1):
                label = f"{_pick(rng, _SHIP_NAMES[country])}"
                same = s == 1 and rng.random() < 0.5
                addr = address(f"S{s}", "shipTo", label, s, same)
                if not same:
                    addr["name"] = f"{name} {label} {addr['city']}"
                addresses.append(addr)
            ship_count[i] = n_ship
            addresses.append(address("B1", "billTo", _BILL_NAMES[country], 10, True))
            if rng.random() < 0.3:
                addresses.append(address("P1", "payTo", _PAY_NAMES[country], 20, rng.random() < 0.7))
        elif rng.random() < 0.3:  # suppliers: some name a separate payee
            addresses.append(address("P1", "payTo", _PAY_NAMES[country], 20, rng.random() < 0.7))
    return partners, addresses, _Partners([p["id"] for p in partners], category, enabled, ship_count)


def _make_products(rng: np.random.Generator, codes: _Codes, count: int) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Products; about 1 % (at least one) have no GTIN."""
    n_makers = max(5, count // 50)
    makers = []
    for _ in range(n_makers):
        while True:
            prefix7 = f"4{int(rng.integers(0, 5))}{int(rng.integers(10**5)):05d}"
            if not prefix7.startswith((INACTIVE_GLN_PREFIX, UNKNOWN_GLN_PREFIX)) and prefix7 not in codes.used:
                codes.used.add(prefix7)
                break
        makers.append((prefix7, _pick(rng, _BRANDS)))
    gtinless = np.zeros(count, dtype=bool)
    gtinless[rng.permutation(count)[: max(1, _share(count, 0.01))]] = True
    # mostly EA: weight EA items up
    item_w = np.array([3.0 if uom == "EA" else 1.0 for _, uom, _, _ in _CATALOG])
    item_w = item_w / item_w.sum()
    items = rng.choice(len(_CATALOG), size=count, p=item_w)
    price_factor = np.exp(rng.normal(0.0, 0.25, size=count))
    rows, uom_idx, price = [], np.zeros(count, dtype=np.int64), np.zeros(count)
    for i in range(count):
        desc, uom, tax, base = _CATALOG[int(items[i])]
        prefix7, brand = makers[int(rng.integers(n_makers))]
        rows.append(dict(
            id=f"SKU-{i + 1:05d}",
            gtin=None if gtinless[i] else codes.gtin13(prefix7),
            description=f"{brand} {desc}{_pick(rng, _VARIANTS)}",
            unit_of_measure=uom, tax_rate=tax,
        ))
        uom_idx[i] = UNITS_OF_MEASURE.index(uom)
        price[i] = max(0.05, round(base * float(price_factor[i]), 2))
    return rows, {"gtinless": gtinless, "uom": uom_idx, "price": price}


# --------------------------------------------------------------------------- documents


def _plan(rng: np.random.Generator, n: int, reasons: Sequence[str]) -> np.ndarray:
    """The fate of each of ``n`` documents: ok | inactive | unknown | one unbuildable reason."""
    plan = np.array(["ok"] * n, dtype=object)
    n_bad, n_inactive, n_unknown = (_share(n, UNBUILDABLE_SHARE), _share(n, INACTIVE_SHARE),
                                    _share(n, UNKNOWN_SHARE))
    order = rng.permutation(n)
    start = int(rng.integers(len(reasons)))
    bad = [reasons[(start + k) % len(reasons)] for k in range(n_bad)]
    plan[order[:n_bad]] = np.array(bad, dtype=object)
    plan[order[n_bad : n_bad + n_inactive]] = "inactive"
    plan[order[n_bad + n_inactive : n_bad + n_inactive + n_unknown]] = "unknown"
    return plan


def _receivers(rng: np.random.Generator, plan: np.ndarray, partners: _Partners,
               weights: dict[str, np.ndarray]) -> np.ndarray:
    """Index into ``partners`` of each document's receiving partner."""
    out = np.zeros(len(plan), dtype=np.int64)
    for fate, category in (("ok", "normal"), (MISSING_GTIN, "normal"), (INVALID_CURRENCY, "normal"),
                           (PARTNER_WITHOUT_IDENTIFIER, "noid"), ("inactive", "inactive"),
                           ("unknown", "unknown")):
        rows = np.flatnonzero(plan == fate)
        if len(rows):
            pool = partners.pool(category)
            out[rows] = pool[rng.choice(len(pool), size=len(rows), p=weights[category])]
    return out


def _timestamps(rng: np.random.Generator, n: int) -> np.ndarray:
    """Business-hours moments within the 60 days before the anchor (datetime64[s])."""
    day = np.datetime64(ANCHOR.date(), "D") - rng.integers(1, 61, size=n).astype("timedelta64[D]")
    secs = rng.integers(7 * 3600, 18 * 3600, size=n).astype("timedelta64[s]")
    return day.astype("datetime64[s]") + secs


def _business_time(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """A business-hours moment (07:00-18:00) on each of ``days`` (datetime64[D]) -> datetime64[s]."""
    secs = rng.integers(7 * 3600, 18 * 3600, size=len(days)).astype("timedelta64[s]")
    return days.astype("datetime64[D]").astype("datetime64[s]") + secs


def _earlier(rng: np.random.Generator, ts: np.ndarray, lo_days: int, hi_days: int) -> np.ndarray:
    """A business-hours moment ``lo_days``..``hi_days`` days before each ``ts``, strictly earlier."""
    shift = rng.integers(lo_days, hi_days + 1, size=len(ts)).astype("timedelta64[D]")
    moment = _business_time(rng, ts.astype("datetime64[D]") - shift)
    return np.minimum(moment, ts - np.timedelta64(30, "m"))


def _py(values: np.ndarray) -> list:
    """numpy -> Python values the DB drivers take (datetime64 -> datetime/date, NaT -> None)."""
    if values.dtype.kind == "M":
        unit = np.datetime_data(values.dtype)[0]
        if unit == "D":
            return values.tolist()
        return values.astype("datetime64[us]").tolist()
    return values.tolist()


def _order_numbers(rng: np.random.Generator, receivers: np.ndarray, styles: np.ndarray) -> list[str]:
    """Customers' own order numbers, in each customer's style."""
    style = styles[receivers]
    nums = rng.integers(10**6, 10**8, size=len(receivers))
    return [f"{_ORDER_NUMBER_PREFIXES[s]}{num}" for s, num in zip(style.tolist(), nums.tolist())]


def _currencies(rng: np.random.Generator, plan: np.ndarray) -> list[str]:
    cur = rng.choice(np.array(["EUR", "CHF", "USD"], dtype=object), size=len(plan), p=[0.98, 0.015, 0.005])
    bad = plan == INVALID_CURRENCY
    cur[bad] = rng.choice(np.array(BAD_CURRENCIES, dtype=object), size=int(bad.sum()))
    return cur.tolist()


def _lines(rng: np.random.Generator, plan: np.ndarray, products: dict[str, np.ndarray],
           small: bool = False) -> dict[str, np.ndarray]:
    """1-8 lines per document: document index, line number, product index, quantity, price."""
    n = len(plan)
    counts = rng.integers(1, 9, size=n)
    doc = np.repeat(np.arange(n), counts)
    starts = np.cumsum(counts) - counts
    line_no = np.arange(len(doc)) - np.repeat(starts, counts) + 1
    normal = np.flatnonzero(~products["gtinless"])
    gtinless = np.flatnonzero(products["gtinless"])
    p = len(normal)
    strides = np.array([s for s in (1, 7, 11, 13, 17, 19, 23, 29, 31) if math.gcd(s, p) == 1] or [1])
    start = rng.integers(p, size=n)
    stride = strides[rng.integers(len(strides), size=n)]
    prod = normal[(start[doc] + (line_no - 1) * stride[doc]) % p]  # distinct products within a document
    missing = np.flatnonzero(plan == MISSING_GTIN)
    if len(missing):
        bad_line = starts[missing] + rng.integers(counts[missing])
        prod[bad_line] = gtinless[rng.integers(len(gtinless), size=len(missing))]

    uom = products["uom"][prod]
    m = len(prod)
    count_qty = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 24, 25, 30, 40, 48, 50, 60, 100, 120, 200, 250, 500])
    w = 1.0 / np.arange(1, len(count_qty) + 1) ** 0.7
    qty = count_qty[rng.choice(len(count_qty), size=m, p=w / w.sum())].astype(float)
    measured = rng.gamma(2.0, 20.0, size=m)
    kgm, ltr, mtr = (uom == UNITS_OF_MEASURE.index(u) for u in ("KGM", "LTR", "MTR"))
    qty[kgm] = np.maximum(0.5, np.round(measured[kgm], 3))
    qty[ltr] = np.maximum(0.5, np.round(measured[ltr], 1))
    qty[mtr] = np.maximum(1.0, np.round(measured[mtr] * 1.5, 1))
    if small:  # credit notes: a few pieces, not a whole delivery
        counted = ~(kgm | ltr | mtr)
        qty[counted] = np.ceil(qty[counted] / 10.0)
        qty[~counted] = np.maximum(0.5, np.round(qty[~counted] / 10.0, 1))
    discount = rng.choice(np.array([0.0, 0.03, 0.05, 0.10]), size=m, p=[0.8, 0.08, 0.08, 0.04])
    price = np.maximum(0.01, np.round(products["price"][prod] * (1.0 - discount), 2))
    return {"doc": doc, "line_number": line_no, "product": prod, "quantity": np.round(qty, 3),
            "unit_price": price, "counted": ~(kgm | ltr | mtr), "counts": counts}


class _Builder:
    """Collects rows per table as column lists."""

    def __init__(self):
        self.tables: dict[str, dict[str, list]] = {}

    def add(self, table: str, columns: dict[str, list]) -> None:
        lengths = {len(v) for v in columns.values()}
        assert len(lengths) == 1, (table, {k: len(v) for k, v in columns.items()})
        self.tables[table] = columns

    def add_rows(self, table: str, rows: list[dict]) -> None:
        keys = list(rows[0]) if rows else []
        self.tables[table] = {k: [r[k] for r in rows] for k in keys}


def _documents(rng, b: _Builder, counts: dict[str, int], customers: _Partners, suppliers: _Partners,
               products: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Generate the five document tables and their lines; return each type's plan."""
    plans: dict[str, np.ndarray] = {}
    weights = {
        "customer": {c: _weights(rng, len(customers.pool(c))) for c in ("normal", "noid", "inactive", "unknown")},
        "supplier": {c: _weights(rng, len(suppliers.pool(c))) for c in ("normal", "noid", "inactive", "unknown")},
    }
    product_ids = np.array([f"SKU-{i + 1:05d}" for i in range(len(products["uom"]))], dtype=object)
    year = ANCHOR.year
    styles = rng.integers(len(_ORDER_NUMBER_PREFIXES), size=len(customers.ids))

    def numbers(prefix: str, n: int, offset: int = 0) -> list[str]:
        return [f"{prefix}-{year}-{i:06d}" for i in range(offset + 1, offset + n + 1)]

    def minutes(lo: int, hi: int, n: int) -> np.ndarray:
        return rng.integers(lo, hi + 1, size=n).astype("timedelta64[m]")

    def days(lo: int, hi: int, n: int) -> np.ndarray:
        return rng.integers(lo, hi + 1, size=n).astype("timedelta64[D]")

    def pending(n: int) -> dict[str, list]:
        none = [None] * n
        return dict(version=[1] * n, status=none, error_url=none, attempts=[0] * n, last_error=none,
                    procuros_transaction_id=none, procuros_status=none, last_attempt_at=none)

    all_reasons = UNBUILDABLE_REASONS
    no_currency = (MISSING_GTIN, PARTNER_WITHOUT_IDENTIFIER)

    # ---- ORDER: purchase orders to suppliers, delivered to our own warehouses
    n = counts["ORDER"]
    plan = plans["ORDER"] = _plan(rng, n, all_reasons)
    recv = _receivers(rng, plan, suppliers, weights["supplier"])
    ts = _timestamps(rng, n)
    ship = rng.choice(np.array(["OWN-S1", "OWN-S2", None], dtype=object), size=n, p=[0.7, 0.2, 0.1])
    comments = rng.choice(np.array(_PO_COMMENTS, dtype=object), size=n)
    b.add("purchase_orders", dict(
        id=list(range(1, n + 1)), order_number=numbers("PO", n), order_date=_py(ts),
        supplier_id=suppliers.ids[recv].tolist(), ship_to_id=ship.tolist(), currency=_currencies(rng, plan),
        requested_delivery_date=_py(ts.astype("datetime64[D]") + days(3, 21, n)),
        comments=_none_where(comments.tolist(), rng.random(n) >= 0.15), **pending(n),
    ))
    ln = _lines(rng, plan, products)
    b.add("purchase_order_lines", dict(
        order_id=(ln["doc"] + 1).tolist(), line_number=ln["line_number"].tolist(),
        product_id=product_ids[ln["product"]].tolist(), quantity=ln["quantity"].tolist(),
        unit_price=_none_where(ln["unit_price"].tolist(), rng.random(len(ln["doc"])) < 0.1),
    ))

    # ---- ORDER_RESPONSE: our confirmations of customers' orders
    n = counts["ORDER_RESPONSE"]
    plan = plans["ORDER_RESPONSE"] = _plan(rng, n, all_reasons)
    recv = _receivers(rng, plan, customers, weights["customer"])
    ts = _timestamps(rng, n)
    rtype = rng.choice(np.array(["ACCEPT", "CHANGE", "REJECT"], dtype=object), size=n, p=[0.75, 0.2, 0.05])
    b.add("order_responses", dict(
        id=list(range(1, n + 1)), response_number=numbers("AB", n), response_date=_py(ts),
        response_type=rtype.tolist(), customer_id=customers.ids[recv].tolist(),
        customer_order_number=_order_numbers(rng, recv, styles),
        customer_order_date=_py(_earlier(rng, ts, 0, 3)),
        confirmed_delivery_date=_py(ts.astype("datetime64[D]") + days(2, 14, n)),
        currency=_currencies(rng, plan), **pending(n),
    ))
    ln = _lines(rng, plan, products)
    ordered = ln["quantity"]
    line_type = rtype[ln["doc"]]
    confirmed = ordered.copy()
    changed = (line_type == "CHANGE") & ((rng.random(len(ordered)) < 0.4) | (ln["line_number"] == 1))
    reduced = ordered * rng.uniform(0.3, 0.9, size=len(ordered))
    reduced = np.where(ln["counted"], np.floor(reduced), np.round(reduced, 1))
    confirmed[changed] = reduced[changed]
    confirmed[line_type == "REJECT"] = 0.0
    b.add("order_response_lines", dict(
        response_id=(ln["doc"] + 1).tolist(), line_number=ln["line_number"].tolist(),
        product_id=product_ids[ln["product"]].tolist(), ordered_quantity=ordered.tolist(),
        confirmed_quantity=np.round(confirmed, 3).tolist(),
        unit_price=_none_where(ln["unit_price"].tolist(), rng.random(len(ordered)) < 0.1),
    ))

    # ---- SHIPPING_NOTICE: despatch advices to customers
    n = counts["SHIPPING_NOTICE"]
    plan = plans["SHIPPING_NOTICE"] = _plan(rng, n, no_currency)
    recv = _receivers(rng, plan, customers, weights["customer"])
    ts = _timestamps(rng, n)
    n_ship = customers.ship_count[recv]
    which = 1 + (rng.random(n) * np.maximum(n_ship, 1)).astype(np.int64)
    ship = [f"{cid}-S{k}" for cid, k in zip(customers.ids[recv].tolist(), which.tolist())]
    # no delivery party on documents to identifier-less partners: one fault per document
    ship = _none_where(ship, (n_ship == 0) | (rng.random(n) < 0.1) | (plan == PARTNER_WITHOUT_IDENTIFIER))
    despatch = ts + minutes(0, 240, n)
    carrier = rng.choice(np.array(_CARRIERS, dtype=object), size=n, p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.1]).tolist()
    digits = rng.integers(10**11, 10**12, size=n).tolist()
    tracking = []
    for c, d in zip(carrier, digits):
        if c == "DHL":
            tracking.append(f"00340434{d}")
        elif c == "DPD":
            tracking.append(f"0{d % 10**13:013d}")
        elif c == "UPS":
            tracking.append(f"1Z{d % 10**6:06d}68{d // 10**4:08d}")
        elif c == "GLS":
            tracking.append(f"{d % 10**11:011d}")
        else:
            tracking.append(f"{d % 10**10:010d}")
    sscc = []
    for i in range(1, n + 1):
        body = f"3{_OWN_PREFIX[:7]}{i:09d}"
        sscc.append(body + gs1_check_digit(body))
    b.add("shipping_notices", dict(
        id=list(range(1, n + 1)), notice_number=numbers("LS", n), notice_date=_py(ts),
        customer_id=customers.ids[recv].tolist(), ship_to_id=ship,
        customer_order_number=_order_numbers(rng, recv, styles),
        customer_order_date=_none_where(_py(_earlier(rng, ts, 1, 14)), rng.random(n) < 0.1),
        despatch_date=_py(despatch),
        expected_delivery_date=_py(_business_time(rng, despatch.astype("datetime64[D]") + days(1, 4, n))),
        carrier=carrier, tracking_number=_none_where(tracking, rng.random(n) < 0.1), package_id=sscc,
        **pending(n),
    ))
    ln = _lines(rng, plan, products)
    ordered = ln["quantity"]
    shipped = ordered.copy()
    partial = rng.random(len(ordered)) < 0.08
    less = ordered * rng.uniform(0.5, 0.95, size=len(ordered))
    less = np.where(ln["counted"], np.floor(less), np.round(less, 1))
    shipped[partial] = less[partial]
    batch = [f"CH{x}" for x in rng.integers(10**7, 10**8, size=len(ordered)).tolist()]
    b.add("shipping_notice_lines", dict(
        notice_id=(ln["doc"] + 1).tolist(), line_number=ln["line_number"].tolist(),
        product_id=product_ids[ln["product"]].tolist(), ordered_quantity=ordered.tolist(),
        shipped_quantity=np.round(shipped, 3).tolist(),
        batch_number=_none_where(batch, rng.random(len(ordered)) >= 0.3),
    ))
    n_sn = n

    # ---- INVOICE
    n = counts["INVOICE"]
    plan = plans["INVOICE"] = _plan(rng, n, all_reasons)
    recv = _receivers(rng, plan, customers, weights["customer"])
    ts = _timestamps(rng, n)
    notice_ts = _earlier(rng, ts, 0, 5)
    pay_days = rng.choice(np.array([10, 14, 30, 30, 30, 45, 60]), size=n)
    b.add("invoices", dict(
        id=list(range(1, n + 1)), invoice_number=numbers("RE", n), invoice_date=_py(ts),
        due_date=_py(ts.astype("datetime64[D]") + pay_days.astype("timedelta64[D]")),
        customer_id=customers.ids[recv].tolist(),
        customer_order_number=_order_numbers(rng, recv, styles),
        customer_order_date=_py(_earlier(rng, notice_ts, 1, 14)),
        notice_number=numbers("LS", n, offset=n_sn),  # delivery notes not sent by EDI
        notice_date=_py(notice_ts), currency=_currencies(rng, plan), payment_days=pay_days.tolist(),
        **pending(n),
    ))
    ln = _lines(rng, plan, products)
    b.add("invoice_lines", dict(
        invoice_id=(ln["doc"] + 1).tolist(), line_number=ln["line_number"].tolist(),
        product_id=product_ids[ln["product"]].tolist(), quantity=ln["quantity"].tolist(),
        unit_price=ln["unit_price"].tolist(),
    ))
    inv_recv, inv_ts = recv, ts

    # ---- CREDIT_NOTE: credits against an invoice of the same customer
    n = counts["CREDIT_NOTE"]
    plan = plans["CREDIT_NOTE"] = _plan(rng, n, all_reasons)
    recv = _receivers(rng, plan, customers, weights["customer"])
    ts = _timestamps(rng, n)
    by_customer = np.argsort(inv_recv, kind="stable")
    n_inv_of = np.bincount(inv_recv, minlength=len(customers.ids))
    first_inv = np.cumsum(n_inv_of) - n_inv_of
    has_inv = n_inv_of[recv] > 0
    pick = by_customer[np.minimum(first_inv[recv] + (rng.random(n) * n_inv_of[recv]).astype(np.int64),
                                  max(len(by_customer) - 1, 0))] if len(by_customer) else np.zeros(n, dtype=np.int64)
    historic_no = rng.integers(1, 30000, size=n)
    inv_numbers, inv_dates = [], ts - (rng.integers(20, 121, size=n) * 86400).astype("timedelta64[s]")
    for k in range(n):
        if has_inv[k]:
            inv_numbers.append(f"RE-{year}-{int(pick[k]) + 1:06d}")
            inv_dates[k] = inv_ts[pick[k]]
        else:  # an older invoice, from before the demo's window
            inv_numbers.append(f"RE-{year - 1}-{int(historic_no[k]):06d}")
    # a business day between the invoice and the anchor, after the invoice
    anchor_day = np.datetime64(ANCHOR.date(), "D")
    inv_day = inv_dates.astype("datetime64[D]")
    span = (anchor_day - inv_day).astype(np.int64)  # >= 1
    cn_day = inv_day + (rng.random(n) * span).astype(np.int64).astype("timedelta64[D]")
    after = np.maximum(_business_time(rng, cn_day), inv_dates + np.timedelta64(1, "h"))
    cn_ts = np.where(has_inv, after, ts)
    b.add("credit_notes", dict(
        id=list(range(1, n + 1)), credit_note_number=numbers("GS", n), credit_note_date=_py(cn_ts),
        customer_id=customers.ids[recv].tolist(), invoice_number=inv_numbers, invoice_date=_py(inv_dates),
        reason=rng.choice(np.array(_CN_REASONS, dtype=object), size=n).tolist(),
        currency=_currencies(rng, plan), **pending(n),
    ))
    ln = _lines(rng, plan, products, small=True)
    b.add("credit_note_lines", dict(
        credit_note_id=(ln["doc"] + 1).tolist(), line_number=ln["line_number"].tolist(),
        product_id=product_ids[ln["product"]].tolist(), quantity=ln["quantity"].tolist(),
        unit_price=ln["unit_price"].tolist(),
    ))
    return plans


# --------------------------------------------------------------------------- RamBase / GEP tables
#
# Drawn from a generator of their own (``default_rng([seed, 2])``), so that adding them left the
# Procuros data of every seed unchanged. Sizes follow ``documents``, at least 10 rows each.

#: RamBase purchaseOrderId ranges and what the RamBase sandbox answers for them (PUT procurement/orders).
RAMBASE_PO_OK_IDS = (100000, 149999)  # 200 -> SYNCED
RAMBASE_PO_MISSING_DUTY_IDS = (170000, 170999)  # 403 missing permission/duty -> REJECTED
RAMBASE_PO_CURRENCY_IDS = (180000, 189999)  # currency EUR: 400 error 108018 Currency mismatch; USD: 200
RAMBASE_PO_NOT_FOUND_IDS = (190000, 199999)  # 404 error 100089 Product not found -> REJECTED
#: Incoterms 2020, the delivery terms RamBase accepts (DPU, no DAT).
INCOTERMS_2020 = ("EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF")
#: Codes that are not Incoterms 2020: DAT is Incoterms 2010 only, DDU/DEQ Incoterms 2000, XYZ nothing.
BAD_DELIVERY_TERMS = ("DAT", "DDU", "DEQ", "XYZ")
#: The documented constraints of PUT procurement/orders that some rows break (one per row).
RAMBASE_PO_CONSTRAINED_FIELDS = ("purchase_order_id", "location_id", "assignee_user_id", "supplier_id",
                                 "ship_from_address_id", "shipping_service_id", "currency", "delivery_terms")
#: REJECTED rows of rambase_po_updates, by reason (summary ``rejected_by_reason``).
RAMBASE_PO_REJECTIONS = ("product_not_found", "currency_mismatch", "missing_duty")

#: RamBase purchaseOrderResponseId ranges and the sandbox's behaviour for API operation 100860;
#: any other id >= 100000 finishes (status 9) at once.
RAMBASE_MATCH_OK_IDS = (100000, 149999)  # 9 at once (ids from 200000 on when more are needed)
RAMBASE_MATCH_SLOW_IDS = (150000, 159999)  # 2 (started), 9 after a few polls
RAMBASE_MATCH_SLOW_ERROR_IDS = (160000, 167999)  # 2, 7 (error) after a few polls
RAMBASE_MATCH_ERROR_IDS = (168000, 168999)  # 7 at once
#: rambase_invoice_matches rows by sandbox behaviour (summary ``cases``).
RAMBASE_MATCH_CASES = ("finished_at_once", "finished_after_polls", "error_after_polls", "error_at_once")

#: GEP order numbers starting with this are unknown to the GEP sandbox ("Invalid Order Number").
GEP_INVALID_ORDER_PREFIX = "X"

#: Documents per row of each table (rows = max(MIN_INTEGRATION_ROWS, documents // n)).
DOCUMENTS_PER_ROW = {"rambase_po_updates": 10, "rambase_invoice_matches": 20, "gep_por_statuses": 10}
MIN_INTEGRATION_ROWS = 10

_NORDIC_FIRST = ("Ole", "Kari", "Lars", "Ingrid", "Erik", "Sofie", "Magnus", "Nora", "Henrik", "Astrid",
                 "Jonas", "Emma", "Per", "Silje", "Anders", "Marit", "Sven", "Linnea", "Karin", "Mikkel")
_NORDIC_LAST = ("Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Berg", "Lund",
                "Haugen", "Dahl", "Lindqvist", "Karlsson", "Eriksson", "Jensen", "Bakke", "Solberg", "Strand")
_RB_NOTES = (
    "Delivery date confirmed by the supplier.",
    "Partial deliveries accepted.",
    "Deliver to gate 4, warehouse B.",
    "Prices as agreed in framework contract 2026.",
    "Supplier changed the contact person.",
    "Call the goods receipt 24 h before delivery.",
    "Label all packages with our purchase order number.",
    "Express delivery requested by production.",
    "EUR pallets, max. 1,000 kg each.",
    "Replaces the order confirmation of last week.",
)
_RB_ATTENTION = ("Goods receipt", "Warehouse team", "Production planning", "Maintenance", "Purchasing")
_RB_PLACES = ("Oslo", "Bergen", "Stavanger", "Trondheim", "Drammen", "Kristiansand", "Gothenburg", "Aarhus",
              "Hamburg", "Bremerhaven", "Rotterdam", "Antwerp")
_RB_CURRENCIES = ("NOK", "EUR", "USD", "SEK", "DKK", "GBP")
_RB_CURRENCY_P = (0.45, 0.30, 0.10, 0.08, 0.04, 0.03)
_RB_TERMS_P = (0.15, 0.20, 0.06, 0.04, 0.25, 0.05, 0.10, 0.02, 0.07, 0.02, 0.04)  # per INCOTERMS_2020
_RB_PAYMENT_TERMS = ("30N", "30N", "30N", "14N", "45N", "60N", "10N", "14D2", "10D3", "30D2")
_GEP_FAILURES = (
    ("PRICE_MISMATCH", "Price mismatch on line {l}"),
    ("QUANTITY_MISMATCH", "Confirmed quantity on line {l} exceeds the ordered quantity"),
    ("DATE_MISMATCH", "Confirmed delivery date on line {l} is later than the requested date"),
    ("UNKNOWN_ITEM", "Item on line {l} is not in the material master"),
    ("UOM_MISMATCH", "Unit of measure on line {l} differs from the order"),
    ("CURRENCY_MISMATCH", "Currency of the response differs from the order currency"),
    ("ORDER_CLOSED", "Purchase order is already closed"),
    ("SUPPLIER_BLOCKED", "Supplier is blocked for purchasing"),
    ("DUPLICATE_RESPONSE", "A response to this order was already processed"),
)
_GEP_FAILURE_P = (0.30, 0.20, 0.15, 0.10, 0.07, 0.05, 0.05, 0.04, 0.04)


def _cases(rng: np.random.Generator, n: int, counts: dict[str, int], rest: str) -> np.ndarray:
    """``counts[case]`` rows of each case at random positions; all others are ``rest``."""
    out = np.full(n, rest, dtype=object)
    order = rng.permutation(n)
    pos = 0
    for case, k in counts.items():
        out[order[pos : pos + k]] = case
        pos += k
    assert pos <= n, (counts, n)
    return out


def _ids_in(rng: np.random.Generator, lo: int, hi: int, n: int) -> np.ndarray:
    """``n`` ids in ``lo..hi``: distinct while the range holds enough of them."""
    span = hi - lo + 1
    if n <= span:
        return lo + rng.choice(span, size=n, replace=False)
    return lo + rng.integers(span, size=n)


def _obj(values: np.ndarray) -> np.ndarray:
    """An object array of Python values (ints stay ints), so that None can be set into it."""
    out = np.empty(len(values), dtype=object)
    out[:] = values.tolist()
    return out


def _names(rng: np.random.Generator, n: int) -> list[str]:
    first = np.array(_NORDIC_FIRST + _FIRST["DE"], dtype=object)
    last = np.array(_NORDIC_LAST + _LAST["DE"], dtype=object)
    return [f"{f} {s}" for f, s in zip(rng.choice(first, size=n).tolist(), rng.choice(last, size=n).tolist())]


def _rambase_po_updates(rng: np.random.Generator, b: _Builder, n: int) -> dict:
    """rambase_po_updates: optional fields mostly present; planted faults, one per row."""
    fields = RAMBASE_PO_CONSTRAINED_FIELDS
    n_bad = max(1, _share(n, 0.03))
    start = int(rng.integers(len(fields)))
    counts = {f"bad:{fields[(start + k) % len(fields)]}": 0 for k in range(len(fields))}
    for k in range(n_bad):
        counts[f"bad:{fields[(start + k) % len(fields)]}"] += 1
    counts.update(product_not_found=max(1, _share(n, 0.02)), currency_mismatch=max(1, _share(n, 0.02)),
                  missing_duty=max(1, _share(n, 0.01)), usd_in_currency_range=_share(n, 0.01))
    case = _cases(rng, n, counts, "ok")
    year = ANCHOR.year

    def present(p: float) -> np.ndarray:
        return rng.random(n) < p

    # purchase order ids: the range decides the sandbox's answer
    po = np.zeros(n, dtype=np.int64)
    normal = np.flatnonzero(~np.isin(case, list(RAMBASE_PO_REJECTIONS) + ["usd_in_currency_range"]))
    po[normal] = _ids_in(rng, *RAMBASE_PO_OK_IDS, len(normal))
    for name, (lo, hi) in (("product_not_found", RAMBASE_PO_NOT_FOUND_IDS),
                           ("missing_duty", RAMBASE_PO_MISSING_DUTY_IDS)):
        rows = np.flatnonzero(case == name)
        po[rows] = _ids_in(rng, lo, hi, len(rows))
    rows = np.flatnonzero((case == "currency_mismatch") | (case == "usd_in_currency_range"))
    po[rows] = _ids_in(rng, *RAMBASE_PO_CURRENCY_IDS, len(rows))

    # the optional fields, each present in 60-90 % of the rows
    sref = np.array(_names(rng, n), dtype=object)
    sref[~present(0.85)] = None
    k = rng.integers(1, 100000, size=n).tolist()
    style = rng.integers(4, size=n).tolist()
    formats = (lambda v: f"SO-{year}-{v:05d}", lambda v: f"AB{v * 37 % 10**7:07d}",
               lambda v: f"{v:06d}/{year % 100}", lambda v: f"ORD-{v:06d}")
    sref_no = np.array([formats[s](v) for s, v in zip(style, k)], dtype=object)
    sref_no[~present(0.70)] = None
    currency = rng.choice(np.array(_RB_CURRENCIES, dtype=object), size=n, p=_RB_CURRENCY_P)
    currency[~present(0.80)] = None
    note = rng.choice(np.array(_RB_NOTES, dtype=object), size=n)
    note[~present(0.60)] = None
    attention = np.where(rng.random(n) < 0.7, np.array(_names(rng, n), dtype=object),
                         rng.choice(np.array(_RB_ATTENTION, dtype=object), size=n))
    attention[~present(0.65)] = None
    location = _obj(rng.choice(np.array([10000, 10001, 10002, 10010, 10020, 10100]), size=n))
    location[~present(0.75)] = None
    assignee = _obj(rng.integers(100, 400, size=n))
    assignee[~present(0.80)] = None
    supplier = _obj(rng.integers(100, 5000, size=n))
    supplier[~present(0.70)] = None
    ship_from = _obj(rng.integers(1, 2000, size=n))
    ship_from[~present(0.60)] = None
    terms = rng.choice(np.array(INCOTERMS_2020, dtype=object), size=n, p=_RB_TERMS_P)
    has_terms = present(0.75)
    terms[~has_terms] = None
    place = rng.choice(np.array(_RB_PLACES, dtype=object), size=n)
    place[~(has_terms & present(0.90))] = None  # a named place only with delivery terms
    service = _obj(rng.integers(100000, 100060, size=n))
    service[~present(0.65)] = None
    payment = rng.choice(np.array(_RB_PAYMENT_TERMS, dtype=object), size=n)
    payment[~present(0.80)] = None

    # the planted cases
    currency[case == "currency_mismatch"] = "EUR"
    currency[case == "usd_in_currency_range"] = "USD"
    bad_values = {
        "purchase_order_id": (po, lambda m: rng.integers(1000, 100000, size=m)),
        "location_id": (location, lambda m: rng.integers(1, 10000, size=m)),
        "assignee_user_id": (assignee, lambda m: rng.integers(1, 100, size=m)),
        "supplier_id": (supplier, lambda m: rng.integers(1, 100, size=m)),
        "ship_from_address_id": (ship_from, lambda m: np.zeros(m, dtype=np.int64)),
        "shipping_service_id": (service, lambda m: rng.integers(1000, 100000, size=m)),
        "currency": (currency, lambda m: rng.choice(np.array(BAD_CURRENCIES, dtype=object), size=m)),
        "delivery_terms": (terms, lambda m: rng.choice(np.array(BAD_DELIVERY_TERMS, dtype=object), size=m)),
    }
    for field, (column, make) in bad_values.items():
        rows = np.flatnonzero(case == f"bad:{field}")
        if len(rows):
            values = make(len(rows))
            column[rows] = values.tolist() if column.dtype == object else values
    none = [None] * n
    b.add("rambase_po_updates", dict(
        id=list(range(1, n + 1)), purchase_order_id=po.tolist(), suppliers_reference=sref.tolist(),
        suppliers_reference_number=sref_no.tolist(), currency=currency.tolist(), note=note.tolist(),
        ship_to_attention=attention.tolist(), location_id=location.tolist(), assignee_user_id=assignee.tolist(),
        supplier_id=supplier.tolist(), ship_from_address_id=ship_from.tolist(), delivery_terms=terms.tolist(),
        delivery_term_place=place.tolist(), shipping_service_id=service.tolist(), payment_terms=payment.tolist(),
        rambase_status=none, rambase_error=none, rambase_error_id=none, attempts=[0] * n, last_attempt_at=none,
    ))
    by_field = {f: int((case == f"bad:{f}").sum()) for f in fields}
    rejected = {r: int((case == r).sum()) for r in RAMBASE_PO_REJECTIONS}
    bad, rej = sum(by_field.values()), sum(rejected.values())
    return {"rows": n, "expected": {"SYNCED": n - bad - rej, "REJECTED": rej, "BUILD_ERROR": bad},
            "build_errors_by_field": by_field, "rejected_by_reason": rejected}


def _rambase_invoice_matches(rng: np.random.Generator, b: _Builder, n: int) -> dict:
    """rambase_invoice_matches: unique response ids whose range decides the sandbox's behaviour."""
    def capped(share: float, ids: tuple[int, int]) -> int:
        return min(max(1, _share(n, share)), ids[1] - ids[0] + 1)  # the ids must stay unique

    counts = {
        "unmatched": max(1, _share(n, 0.10)),
        "bad_invoice": max(1, _share(n, 0.02)),
        "finished_after_polls": capped(0.15, RAMBASE_MATCH_SLOW_IDS),
        "error_after_polls": capped(0.03, RAMBASE_MATCH_SLOW_ERROR_IDS),
        "error_at_once": capped(0.02, RAMBASE_MATCH_ERROR_IDS),
    }
    case = _cases(rng, n, counts, "finished_at_once")
    response = np.zeros(n, dtype=np.int64)
    normal = np.flatnonzero(np.isin(case, ["finished_at_once", "unmatched", "bad_invoice"]))
    lo, hi = RAMBASE_MATCH_OK_IDS
    span = hi - lo + 1
    idx = rng.choice(max(span, len(normal)), size=len(normal), replace=False)
    response[normal] = np.where(idx < span, lo + idx, 200000 + idx - span)  # beyond the range: 200000...
    for name, ids in (("finished_after_polls", RAMBASE_MATCH_SLOW_IDS),
                      ("error_after_polls", RAMBASE_MATCH_SLOW_ERROR_IDS),
                      ("error_at_once", RAMBASE_MATCH_ERROR_IDS)):
        rows = np.flatnonzero(case == name)
        response[rows] = _ids_in(rng, *ids, len(rows))
    invoice = _obj(rng.integers(100000, 400000, size=n))
    invoice[case == "unmatched"] = None
    bad = np.flatnonzero(case == "bad_invoice")
    invoice[bad] = rng.integers(1000, 100000, size=len(bad)).tolist()  # e.g. the supplier's own number
    none = [None] * n
    b.add("rambase_invoice_matches", dict(
        id=list(range(1, n + 1)), purchase_order_response_id=response.tolist(),
        supplier_invoice_id=invoice.tolist(), forward_status=none, operation_instance_id=none,
        operation_requested_at=none, rambase_error=none, rambase_error_id=none, attempts=[0] * n,
        last_attempt_at=none,
    ))
    cases = {c: int((case == c).sum()) for c in RAMBASE_MATCH_CASES}
    return {"rows": n, "unmatched": counts["unmatched"],
            "expected": {"FORWARDED": cases["finished_at_once"] + cases["finished_after_polls"],
                         "ERROR": cases["error_after_polls"] + cases["error_at_once"],
                         "BUILD_ERROR": counts["bad_invoice"]},
            "cases": cases}


def _gep_por_statuses(rng: np.random.Generator, b: _Builder, n: int) -> dict:
    """gep_por_statuses: processing results of purchase order responses, keyed by GEP order number."""
    case = _cases(rng, n, {"no_key": max(1, _share(n, 0.03)), "invalid_key": max(1, _share(n, 0.04))}, "ok")
    failed = _cases(rng, n, {"Failed": _share(n, 0.20)}, "Processed")
    # GEP order numbers: 48000..., ascending with gaps, reported in a shuffled order
    numbers = (4800000000 + int(rng.integers(1000, 9000)) + np.cumsum(rng.integers(1, 21, size=n)))
    numbers = numbers[rng.permutation(n)].astype(str).astype(object)
    invalid = case == "invalid_key"
    numbers[invalid] = [GEP_INVALID_ORDER_PREFIX + s[1:] for s in numbers[invalid].tolist()]
    numbers[case == "no_key"] = None
    is_failed = failed == "Failed"
    which = rng.choice(len(_GEP_FAILURES), size=n, p=_GEP_FAILURE_P)
    line = rng.integers(1, 9, size=n)
    comment = np.array([_GEP_FAILURES[w][1].format(l=ln) for w, ln in zip(which.tolist(), line.tolist())],
                       dtype=object)
    code = np.array([c for c, _ in _GEP_FAILURES], dtype=object)[which]
    comment[~is_failed] = None
    code[~is_failed] = None
    sap = rng.random(n) < 0.7
    system = np.where(sap, "SAP-ERP", "DEMO-ERP").astype(object)
    value = np.where(sap, np.where(rng.random(n) < 0.8, "S4P-100", "S4P-200"), "DEMO-01").astype(object)
    has_system = rng.random(n) < 0.9
    system[~has_system] = None
    value[~(has_system & (rng.random(n) < 0.95))] = None
    lob = np.where(rng.random(n) < 0.65, "Direct", "Indirect").astype(object)
    lob[rng.random(n) >= 0.9] = None
    none = [None] * n
    b.add("gep_por_statuses", dict(
        id=list(range(1, n + 1)), order_number=numbers.tolist(), processing_status=failed.tolist(),
        comment=comment.tolist(), source_system_name=system.tolist(), source_system_value=value.tolist(),
        lob=lob.tolist(), error_code=code.tolist(), ack_status=none, ack_errors=none, attempts=[0] * n,
        last_attempt_at=none,
    ))
    no_key, bad_key = int((case == "no_key").sum()), int(invalid.sum())
    return {"rows": n, "expected": {"ACKNOWLEDGED": n - no_key - bad_key, "ERRORED": bad_key,
                                    "BUILD_ERROR": no_key},
            "processing_status": {"Processed": int((~is_failed).sum()), "Failed": int(is_failed.sum())}}


def _integration_tables(seed: int, b: _Builder, documents: int) -> dict[str, dict]:
    """The RamBase and GEP tables, from a generator of their own; their summaries."""
    rng = np.random.default_rng([seed, 2])
    rows = {name: max(MIN_INTEGRATION_ROWS, documents // per) for name, per in DOCUMENTS_PER_ROW.items()}
    return {
        "rambase_po_updates": _rambase_po_updates(rng, b, rows["rambase_po_updates"]),
        "rambase_invoice_matches": _rambase_invoice_matches(rng, b, rows["rambase_invoice_matches"]),
        "gep_por_statuses": _gep_por_statuses(rng, b, rows["gep_por_statuses"]),
    }


# --------------------------------------------------------------------------- database


def _insert(conn: sa.Connection, table: sa.Table, columns: dict[str, list]) -> int:
    """Insert column lists into ``table`` in chunks of :data:`_CHUNK` rows."""
    names = [n for n in columns if n in table.c]
    missing = set(columns) - set(names)
    if missing:
        raise ValueError(f"demo_schema.sql has no column(s) {sorted(missing)} in table {table.name}")
    total = len(columns[names[0]]) if names else 0
    if not total:
        return 0
    dialect = conn.dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg2":
        return _copy_psycopg2(conn, table, names, columns, total)
    if not dialect.positional:
        # psycopg2 (named parameters): SQLAlchemy batches the rows into multi-row VALUES itself.
        stmt = table.insert()
        data = [columns[n] for n in names]
        for lo in range(0, total, _CHUNK):
            conn.execute(stmt, [dict(zip(names, r)) for r in zip(*(col[lo : lo + _CHUNK] for col in data))])
        return total
    # Positional drivers (sqlite3, pymysql): convert the values column by column with the
    # types' own bind processors, then hand plain tuples to the driver's executemany. Same
    # stored values as conn.execute(table.insert(), rows), a fraction of the per-row cost.
    compiled = table.insert().compile(dialect=dialect, column_keys=names)
    order = list(compiled.positiontup or [])
    if sorted(order) != sorted(names):  # pragma: no cover - unexpected bind naming
        raise RuntimeError(f"cannot map the parameters of {compiled} to {names}")
    data = []
    for name in order:
        col = columns[name]
        proc = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        data.append(col if proc is None else [None if v is None else proc(v) for v in col])
    sql = str(compiled)
    for lo in range(0, total, _CHUNK):
        conn.exec_driver_sql(sql, list(zip(*(col[lo : lo + _CHUNK] for col in data))))
    return total


def _csv_field(value: Any) -> str:
    if value is None:
        return ""  # unquoted empty field: NULL
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)  # int, datetime ("YYYY-MM-DD HH:MM:SS"), date


def _copy_psycopg2(conn: sa.Connection, table: sa.Table, names: list[str], columns: dict[str, list],
                   total: int) -> int:
    """PostgreSQL: COPY ... FROM STDIN (CSV), inside the surrounding transaction."""
    quote = conn.dialect.identifier_preparer.quote
    sql = (f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
           "FROM STDIN WITH (FORMAT csv)")
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        step = _CHUNK * 10
        for lo in range(0, total, step):
            text_cols = [[_csv_field(v) for v in columns[n][lo : lo + step]] for n in names]
            buf = io.StringIO("\n".join(",".join(row) for row in zip(*text_cols)) + "\n")
            cursor.copy_expert(sql, buf)
    finally:
        cursor.close()
    return total


def _engine(url: str) -> sa.Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return sa.create_engine(u, connect_args={"timeout": 60})
    return sa.create_engine(u)


def build_demo_erp(url: str, documents: int, seed: int = 0, *, reset: bool = True) -> dict:
    """Create the demo ERP schema in the database at ``url`` and fill it.

    ``reset`` drops the demo tables first (children before parents) and recreates them from
    :data:`SCHEMA_PATH`. With ``reset=False`` missing tables are created and existing ones
    must be empty. Deterministic for a given ``seed``. Returns a summary::

        {"seed", "documents", "anchor",
         "tables": {table: rows},
         "partners": {"customers", "suppliers", "without_identifier", "inactive", "unknown", "disabled"},
         "documents_by_type": {"ORDER": n, "ORDER_RESPONSE": n, ...},
         "unbuildable": {"missing_gtin": n, "partner_without_identifier": n, "invalid_currency": n},
         "unbuildable_by_type": {type: {reason: n}},
         "expected_outcomes": {"TRANSMITTED": n, "NO_ACTION": n, "REJECTED": n, "BUILD_ERROR": n},
         "expected_outcomes_by_type": {type: {outcome: n}},
         "rambase_po_updates": {"rows", "expected": {"SYNCED": n, "REJECTED": n, "BUILD_ERROR": n},
                                "build_errors_by_field": {column: n},  # RAMBASE_PO_CONSTRAINED_FIELDS
                                "rejected_by_reason": {"product_not_found": n, "currency_mismatch": n,
                                                       "missing_duty": n}},
         "rambase_invoice_matches": {"rows", "unmatched",
                                     "expected": {"FORWARDED": n, "ERROR": n, "BUILD_ERROR": n},
                                     "cases": {case: n}},  # RAMBASE_MATCH_CASES
         "gep_por_statuses": {"rows", "expected": {"ACKNOWLEDGED": n, "ERRORED": n, "BUILD_ERROR": n},
                              "processing_status": {"Processed": n, "Failed": n}}}

    ``expected`` counts only pending rows: unmatched invoice matches are in none of its outcomes.
    """
    documents = int(documents)
    if documents < 0:
        raise ValueError("documents must be >= 0")
    rng = np.random.default_rng(seed)
    codes = _Codes(rng)
    codes.used.add(_OWN_PREFIX)

    n_customers = max(20, documents // 50)
    n_suppliers = max(10, documents // 100)
    n_products = max(50, documents // 20)
    used_names: set[str] = set()
    own, own_addresses = _own_rows()
    used_names.add(own["name"])
    cust_rows, cust_addr, customers = _make_partners(
        rng, codes, "customer", 1000, n_customers, max(2, _share(n_customers, 0.01)), used_names)
    supp_rows, supp_addr, suppliers = _make_partners(
        rng, codes, "supplier", 2000, n_suppliers, max(1, _share(n_suppliers, 0.01)), used_names)
    product_rows, products = _make_products(rng, codes, n_products)

    b = _Builder()
    b.add_rows("partners", [own] + cust_rows + supp_rows)
    b.add_rows("partner_addresses", own_addresses + cust_addr + supp_addr)
    b.add_rows("products", product_rows)
    counts = _split_counts(documents, TYPE_SHARES)
    plans = _documents(rng, b, counts, customers, suppliers, products)
    integration = _integration_tables(seed, b, documents)  # a generator of its own: see there
    from erp_outbound_tools.demo import erp_more as demo_more  # it builds on this module

    more = demo_more.add_documents(seed, b, documents, customers, suppliers)  # the seven later Procuros types

    engine = _engine(url)
    try:
        tables = create_schema(engine, reset)
        migrations.upgrade(engine)  # erp-outbound's bookkeeping tables, as `erp-outbound db upgrade` makes them
        metadata = sa.MetaData()
        inserted: dict[str, int] = {}
        with engine.begin() as conn:
            for name in tables:
                if name in b.tables:
                    table = sa.Table(name, metadata, autoload_with=conn)
                    inserted[name] = _insert(conn, table, b.tables[name])
                else:
                    inserted[name] = 0
    finally:
        engine.dispose()

    unbuildable_by_type = {t: {r: int((plans[t] == r).sum()) for r in UNBUILDABLE_REASONS} for t in plans}
    outcomes_by_type = {}
    for t, plan in plans.items():
        bad = sum(unbuildable_by_type[t].values())
        inactive, unknown = int((plan == "inactive").sum()), int((plan == "unknown").sum())
        outcomes_by_type[t] = {"TRANSMITTED": len(plan) - bad - inactive - unknown, "NO_ACTION": inactive,
                               "REJECTED": unknown, "BUILD_ERROR": bad}
    return demo_more.with_more({
        "seed": seed,
        "documents": documents,
        "anchor": ANCHOR.isoformat(),
        "tables": inserted,
        "partners": {
            "customers": n_customers,
            "suppliers": n_suppliers,
            "without_identifier": int((customers.category == "noid").sum() + (suppliers.category == "noid").sum()),
            "inactive": int((customers.category == "inactive").sum() + (suppliers.category == "inactive").sum()),
            "unknown": int((customers.category == "unknown").sum() + (suppliers.category == "unknown").sum()),
            "disabled": int((~customers.enabled).sum() + (~suppliers.enabled).sum()),
        },
        "documents_by_type": {t: len(plans[t]) for t in DOCUMENT_TYPES},
        "unbuildable": {r: sum(u[r] for u in unbuildable_by_type.values()) for r in UNBUILDABLE_REASONS},
        "unbuildable_by_type": unbuildable_by_type,
        "expected_outcomes": {o: sum(v[o] for v in outcomes_by_type.values())
                              for o in ("TRANSMITTED", "NO_ACTION", "REJECTED", "BUILD_ERROR")},
        "expected_outcomes_by_type": outcomes_by_type,
        **integration,
    }, more)
