"""The demo credentials, in one place: what the sandbox accepts by default and the demo connections carry.

``make demo`` and ``make airflow`` build their connections from these, ``make airflow`` prints them, the
sandbox's defaults are these, and the README's table is checked against ``markdown_table()``
(tests/test_demo_credentials.py). They open only the local sandbox: they are not secrets of anything real.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class DemoCredentials:
    procuros_token: str = "demo-procuros-token"
    rambase_client_id: str = "sandbox-client"
    rambase_client_secret: str = "sandbox-secret"
    rambase_db: str = "SANDBOX"
    gep_auth_key: str = "sandbox-gep-key"

    def values(self) -> list[str]:
        """The secret ones (what a connection hides)."""
        return [self.procuros_token, self.rambase_client_secret, self.gep_auth_key]

    def rows(self) -> list[tuple[str, str, str]]:
        """(connection, field as the connection form names it, value)."""
        return [
            ("procuros_default", "API token (password)", self.procuros_token),
            ("rambase_default", "Client id (login)", self.rambase_client_id),
            ("rambase_default", "Client secret (password)", self.rambase_client_secret),
            ("rambase_default", "`$db` (extra `db`)", self.rambase_db),
            ("gep_smart_default", "gep-auth-key (password)", self.gep_auth_key),
        ]

    def lines(self) -> list[str]:
        """For a terminal: one line per connection."""
        by_connection: dict[str, list[str]] = {}
        for connection, name, value in self.rows():
            by_connection.setdefault(connection, []).append(f"{name.replace('`', '')} = {value}")
        return [f"{connection}: {', '.join(values)}" for connection, values in by_connection.items()]

    def markdown_table(self) -> str:
        rows = "\n".join(f"| `{connection}` | {name} | `{value}` |" for connection, name, value in self.rows())
        return f"| connection | field | value |\n|---|---|---|\n{rows}"


DEMO = DemoCredentials()
