"""What Airflow learns from the ``apache_airflow_provider`` entry point: our connection types."""

from __future__ import annotations

from erp_outbound import __version__

_TUNING_FIELDS = {
    "max_concurrency": {
        "label": "Max concurrent requests",
        "schema": {"type": ["integer", "null"], "minimum": 1, "default": 16},
        "description": "Requests in flight at once while delivering.",
    },
    "max_requests_per_second": {
        "label": "Max requests per second",
        "schema": {"type": ["number", "null"], "minimum": 0, "default": 0},
        "description": "0 = no limit. Lower it if the vendor answers 429.",
    },
    "timeout": {
        "label": "Request timeout (s)",
        "schema": {"type": ["number", "null"], "minimum": 1, "default": 30},
    },
    "max_tries": {
        "label": "Tries per document",
        "schema": {"type": ["integer", "null"], "minimum": 1, "default": 5},
        "description": "For 429, 5xx, timeouts and connection errors, with backoff honouring Retry-After.",
    },
    "breaker_failure_rate": {
        "label": "Outage: failed share of the last tries",
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1, "default": 0.9},
        "description": "Sending stops (the rest goes next run) once this share of the last tries got no "
                       "answer or a 5xx.",
    },
    "breaker_window": {
        "label": "Outage: tries looked at",
        "schema": {"type": ["integer", "null"], "minimum": 1, "default": 40},
    },
    "breaker_min_tries": {
        "label": "Outage: fewest tries before deciding",
        "schema": {"type": ["integer", "null"], "minimum": 1, "default": 20},
    },
}


def get_provider_info() -> dict:
    return {
        "package-name": "erp-outbound",
        "name": "erp-outbound",
        "description": "Deliver ERP documents to Procuros, RamBase and GEP SMART.",
        "versions": [__version__],
        "connection-types": [
            {
                "hook-class-name": "erp_outbound.procuros.hook.ProcurosHook",
                "hook-name": "Procuros",
                "connection-type": "procuros",
                "conn-fields": _TUNING_FIELDS,
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login", "extra"],
                    "relabeling": {"host": "Base URL", "password": "API token"},
                    "placeholders": {"host": "https://api.procuros.io", "password": "API token of your ERP connection"},
                },
            },
            {
                "hook-class-name": "erp_outbound.rambase.hook.RambaseHook",
                "hook-name": "RamBase",
                "connection-type": "rambase",
                "conn-fields": {
                    "grant_type": {
                        "label": "Grant type",
                        "schema": {"type": ["string", "null"], "enum": ["client_credentials", "password"],
                                   "default": "client_credentials"},
                        "description": "client_credentials, or password with the user below.",
                    },
                    "db": {"label": "$db (company database)", "schema": {"type": ["string", "null"]}},
                    "target": {"label": "Target (optional)", "schema": {"type": ["string", "null"]}},
                    "username": {"label": "Username (password grant)", "schema": {"type": ["string", "null"]}},
                    "user_password": {"label": "User password (password grant)",
                                      "schema": {"type": ["string", "null"], "format": "password"}},
                } | _TUNING_FIELDS,
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "extra"],
                    "relabeling": {"host": "Base URL", "login": "Client id", "password": "Client secret"},
                    "placeholders": {"host": "https://api.rambase.net", "login": "OAuth client id"},
                },
            },
            {
                "hook-class-name": "erp_outbound.gep.hook.GepSmartHook",
                "hook-name": "GEP SMART",
                "connection-type": "gep_smart",
                "conn-fields": {
                    # Airflow hides an extra whose name holds "token" and shows one without a secret's name:
                    # hence auth_url (a URL, shown) and subscription_api_key (a key, hidden).
                    "auth_url": {"label": "Token service URL", "schema": {"type": ["string", "null"]},
                                 "description": "Your tenant's token service, e.g. https://<tenant>/token/gep"},
                    "subscription_api_key": {"label": "Ocp-Apim-Subscription-Key (optional)",
                                         "schema": {"type": ["string", "null"], "format": "password"}},
                    "cert": {"label": "Client certificate path (optional)", "schema": {"type": ["string", "null"]}},
                } | _TUNING_FIELDS,
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login", "extra"],
                    "relabeling": {"host": "Instance base URL", "password": "gep-auth-key"},
                    "placeholders": {"host": "https://<instance>.gep.com"},
                },
            },
            {
                "hook-class-name": "erp_outbound.erp.hook.ErpHook",
                "hook-name": "ERP database (SQLAlchemy)",
                "connection-type": "erp",
                "conn-fields": {},
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login", "extra"],
                    "relabeling": {"host": "SQLAlchemy URL", "password": "Database password"},
                    "placeholders": {"host": "postgresql+psycopg2://erp@db.example.com:5432/erp"},
                },
            },
        ],
    }
