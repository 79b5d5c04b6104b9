"""Form helpers: read optional numbers from strings, collect inline errors."""

from __future__ import annotations

from cadence.errors import CadenceError


class FormErrors(dict[str, str]):
    """field -> message; "" is the form as a whole."""

    def number(self, field: str, raw: str | None, lo: float, hi: float, label: str) -> float | None:
        raw = (raw or "").strip()
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            self[field] = f"{label}: {raw!r} is not a number"
            return None
        if not lo <= value <= hi:
            self[field] = f"{label}: must be {lo:g}-{hi:g}"
            return None
        return value

    def whole(self, field: str, raw: str | None, lo: int, hi: int, label: str) -> int | None:
        value = self.number(field, raw, lo, hi, label)
        if value is None:
            return None
        if value != int(value):
            self[field] = f"{label}: give a whole number"
            return None
        return int(value)

    def text(
        self,
        field: str,
        raw: str | None,
        label: str,
        *,
        required: bool = False,
        max_length: int = 500,
    ) -> str | None:
        value = (raw or "").strip()
        if not value:
            if required:
                self[field] = f"{label}: required"
            return None
        if len(value) > max_length:
            self[field] = f"{label}: at most {max_length} characters"
            return None
        return value

    def add(self, err: CadenceError, fields: tuple[str, ...] = ()) -> None:
        """A service error, under the field it names when that field is on the form."""
        head = str(err).split(":", 1)[0].strip()
        self[head if head in fields else ""] = str(err)
