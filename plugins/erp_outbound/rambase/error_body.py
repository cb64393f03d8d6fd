"""RamBase's error body, read leniently: bare or wrapped in {"error": ...}, camel or Pascal case."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def lower_keys(value: Any) -> Any:
    """{"ErrorMessage": {"ErrorMessageId": 1}} -> {"errorMessage": {"errorMessageId": 1}}."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]) if isinstance(k, str) else k: lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


@dataclass
class RambaseError:
    message: str
    error_id: str | None = None
    translated: str | None = None
    parameters: list[str] = field(default_factory=list)
    inner: list[RambaseError] = field(default_factory=list)

    def text(self) -> str:
        """One line for the ERP document: message, error id, then the inner errors."""
        head = self.message + (f" (RamBase error {self.error_id})" if self.error_id else "")
        if self.translated and self.translated != self.message:
            head += f" [{self.translated}]"
        inner = "; ".join(e.text() for e in self.inner)
        return f"{head}; inner errors: {inner}" if inner else head

    def as_body(self) -> dict:
        """The error as RamBase shapes it, with only what ``parse_error`` reads (no links, no parameters)."""
        body: dict[str, Any] = {"message": self.message, "innerErrors": [e.as_body() for e in self.inner]}
        if self.error_id is not None:
            body["errorMessage"] = {"errorMessageId": self.error_id}
        if self.translated and self.translated != self.message:
            body["translatedMessage"] = self.translated
        return body


def parse_error(body: Any) -> RambaseError | None:
    """The error in a RamBase answer, or None when the body is not a RamBase error."""
    if not isinstance(body, dict):
        return None
    body = lower_keys(body)
    if isinstance(body.get("error"), dict):
        body = body["error"]
    message = body.get("message") or body.get("translatedMessage")
    if not message:
        return None
    error_message = body.get("errorMessage") if isinstance(body.get("errorMessage"), dict) else {}
    error_id = error_message.get("errorMessageId")
    parameters = [str(p.get("value")) for p in body.get("parameters") or [] if isinstance(p, dict)]
    inner = [e for e in (parse_error(i) for i in body.get("innerErrors") or []) if e]
    return RambaseError(str(message), None if error_id is None else str(error_id),
                        body.get("translatedMessage"), parameters, inner)
