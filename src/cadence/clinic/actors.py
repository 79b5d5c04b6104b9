"""Who is asking: every service call names its actor, and the audit log records it."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "therapist", "system")


@dataclass(frozen=True)
class Actor:
    """A clinician (admin or therapist) or the machine's operator (``system``, the CLI)."""

    clinician_id: int | None
    username: str
    role: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Actor.role must be one of {ROLES}, got {self.role!r}")

    @classmethod
    def system(cls) -> Actor:
        """The operator at the machine (the CLI): sees and may change everything."""
        return cls(clinician_id=None, username="system", role="system")

    @property
    def is_admin(self) -> bool:
        """Admins and the system actor see every patient."""
        return self.role in ("admin", "system")
