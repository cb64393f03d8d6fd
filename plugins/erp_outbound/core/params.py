"""Trigger-form values as operators receive them: from the run's params, native or text."""

from __future__ import annotations

from typing import Any


def form_value(context, name: str, given: Any, default: Any = None) -> Any:
    """What the operator was given, or else the run's trigger-form field ``name`` (``context["params"]``).

    The DAGs leave these fields unset: each step reads the run's params itself, with no
    Jinja string in between. A DAG without that field gets ``default``.
    """
    if given is not None:
        return given
    return (context.get("params") or {}).get(name, default)


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def as_list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
    return [str(v) for v in value]


def as_limit(value: Any) -> int | None:
    """The Limit field: empty (None) = every pending document, otherwise a whole number of at least 1.

    Nothing else means "all": 0 or -1 from a caller that skipped the form's check is refused.
    """
    if value is None or (isinstance(value, str) and value.strip() in ("", "None")):
        return None
    try:
        number = int(str(value).strip()) if not isinstance(value, (int, float)) else value
    except ValueError:
        number = None
    if isinstance(number, bool) or number is None or number != int(number) or number < 1:
        raise ValueError(f"Limit must be a whole number of at least 1, or empty for every pending document; "
                         f"got {value!r}")
    return int(number)


def as_ids(value: Any) -> list[str] | None:
    """The "Only these" field: None when empty (every pending document), else the entries given.

    A list of nothing but blank lines is refused: it would otherwise mean every pending document.
    """
    if value in (None, "", []):
        return None
    ids = [i.strip() for i in as_list(value) if i.strip()]  # the form's trailing newline is a blank line
    if not ids:
        raise ValueError("'Only these' holds only blank lines: give one ERP id or document number per line, "
                         "or leave it empty to send every pending document.")
    return ids
