"""Errors a clinic service raises; each is a user error the CLI prints as one line (exit 2)."""

from __future__ import annotations

from cadence.errors import CadenceError


class ClinicError(CadenceError):
    """Base of every clinic error."""


class NotFound(ClinicError):
    """An unknown record, or one this actor may not see (never reveals which)."""


class Forbidden(ClinicError):
    """The actor's role may not do this."""


class ConsentRequired(ClinicError):
    """The patient has not given (or has withdrawn) consent for this."""


class InvalidValue(ClinicError):
    """A value out of range or malformed; the message names the field and the value."""


class OutOfRange(InvalidValue):
    """A whole number beyond what the records can hold (a record id over 2**63 - 1)."""


class KeyProblem(ClinicError):
    """The encryption key is missing, malformed or not the one this database was written with."""


class Conflict(ClinicError):
    """A duplicate username or patient code."""


class Unavailable(ClinicError):
    """The database cannot be reached or opened (wrong URL, server down, unreadable file)."""
