"""Who is asking: every service call names its actor, and the audit log records it."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "therapist", "system", "patient", "anonymous")


@dataclass(frozen=True)
class Actor:
    """A clinician (admin or therapist), the machine's operator (``system``, the CLI), or a
    patient on their listening page (``patient``: sees only their own record, ``patient_code``),
    or someone not signed in (``anonymous``: a failed sign-in; sees nothing)."""

    clinician_id: int | None
    username: str
    role: str
    patient_code: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Actor.role must be one of {ROLES}, got {self.role!r}")
        if (self.role == "patient") != (self.patient_code is not None):
            raise ValueError("Actor.patient_code is set for the patient role, and only for it")

    @classmethod
    def system(cls) -> Actor:
        """The operator at the machine (the CLI): sees and may change everything."""
        return cls(clinician_id=None, username="system", role="system")

    @classmethod
    def patient(cls, code: str, via: str) -> Actor:
        """The patient ``code`` reaching their own record through ``via`` (e.g. ``link 4``)."""
        return cls(clinician_id=None, username=f"patient {code} ({via})"[:64], role="patient",
                   patient_code=code)

    @classmethod
    def anonymous(cls, name: str) -> Actor:
        """Someone not signed in, under the name they typed (the audit of a failed sign-in)."""
        return cls(clinician_id=None, username=name[:64] or "-", role="anonymous")

    @property
    def is_admin(self) -> bool:
        """Admins and the system actor see every patient."""
        return self.role in ("admin", "system")

    @property
    def is_patient(self) -> bool:
        return self.role == "patient"
