"""Our connection types in Airflow's eyes: which fields the form shows, and which values Airflow hides.

Airflow decides what to mask by a field's name (a name holding "password", "token", "api_key", ...):
in the logs, in the connection list and in the REST API. Every secret field of ours must have
such a name, and no other field may: a hidden URL cannot be checked by the person who typed it.
"""

from __future__ import annotations

import pytest
from airflow.sdk.log import mask_secret  # noqa: F401 - loads Airflow's masker settings
from erp_outbound.provider_info import get_provider_info

CONNECTION_TYPES = {c["connection-type"]: c for c in get_provider_info()["connection-types"]}


def hidden_by_airflow(name: str) -> bool:
    from airflow._shared.secrets_masker import should_hide_value_for_key

    return should_hide_value_for_key(name)


@pytest.mark.parametrize("conn_type", sorted(CONNECTION_TYPES))
def test_airflow_hides_exactly_the_secret_extras(conn_type):
    for name, field in CONNECTION_TYPES[conn_type]["conn-fields"].items():
        secret = field["schema"].get("format") == "password"
        assert hidden_by_airflow(name) == secret, f"{conn_type} extra {name!r}: secret={secret}"


def test_the_gep_token_service_url_is_shown_and_its_keys_are_hidden():
    fields = CONNECTION_TYPES["gep_smart"]["conn-fields"]
    assert fields["auth_url"]["label"] == "Token service URL" and not hidden_by_airflow("auth_url")
    assert hidden_by_airflow("subscription_api_key") and hidden_by_airflow("password")


def test_every_type_has_a_form_of_its_own():
    assert set(CONNECTION_TYPES) == {"procuros", "rambase", "gep_smart", "erp"}
    for conn_type, meta in CONNECTION_TYPES.items():
        behaviour = meta["ui-field-behaviour"]
        assert "port" in behaviour["hidden-fields"], f"{conn_type}: none of our types uses a port"
        assert behaviour["relabeling"]["host"], conn_type
