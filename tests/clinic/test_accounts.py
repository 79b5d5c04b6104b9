"""Clinician accounts: Argon2 hashes, roles, duplicates, sign-in."""

from __future__ import annotations

import pytest

from cadence.clinic import accounts
from cadence.clinic.actors import Actor
from cadence.clinic.db import Clinic
from cadence.clinic.errors import Conflict, Forbidden, InvalidValue, NotFound
from cadence.clinic.models import Clinician


def test_create_and_authenticate(clinic: Clinic) -> None:
    with clinic.session() as db:
        made = accounts.create_clinician(db, Actor.system(), "tess", "correct horse", "therapist")
        stored = db.get(Clinician, made.id)
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        assert "correct horse" not in stored.password_hash
    with clinic.session() as db:
        assert accounts.authenticate(db, "tess", "correct horse") == made
        assert accounts.authenticate(db, "tess", "wrong horse") is None
        assert accounts.authenticate(db, "nobody", "correct horse") is None
        assert accounts.get_clinician(db, made.id).role == "therapist"
        with pytest.raises(NotFound):
            accounts.get_clinician(db, made.id + 100)


def test_rules(clinic: Clinic, therapist: Actor) -> None:
    with clinic.session() as db:
        with pytest.raises(Conflict):
            accounts.create_clinician(db, Actor.system(), "tess", "another pass", "admin")
        with pytest.raises(InvalidValue, match="role"):
            accounts.create_clinician(db, Actor.system(), "x1", "long enough", "nurse")
        with pytest.raises(InvalidValue, match="at least 8"):
            accounts.create_clinician(db, Actor.system(), "x2", "short", "therapist")
        with pytest.raises(InvalidValue, match="username"):
            accounts.create_clinician(db, Actor.system(), "bad name!", "long enough", "admin")
        with pytest.raises(Forbidden):
            accounts.create_clinician(db, therapist, "x3", "long enough", "admin")


def test_deactivated_clinicians_cannot_sign_in(clinic: Clinic, therapist: Actor) -> None:
    assert therapist.clinician_id is not None
    with clinic.session() as db:
        accounts.set_active(db, Actor.system(), therapist.clinician_id, False)
    with clinic.session() as db:
        assert accounts.authenticate(db, "tess", "correct horse") is None
        assert accounts.get_clinician(db, therapist.clinician_id).active is False


def test_a_therapist_lists_only_themselves(
    clinic: Clinic, therapist: Actor, other_therapist: Actor, admin: Actor
) -> None:
    with clinic.session() as db:
        assert [c.username for c in accounts.list_clinicians(db, therapist)] == ["tess"]
        assert [c.username for c in accounts.list_clinicians(db, admin)] == ["ada", "otto",
                                                                             "tess"]


def test_password_change(clinic: Clinic, therapist: Actor, other_therapist: Actor) -> None:
    assert therapist.clinician_id is not None
    with clinic.session() as db:
        accounts.set_password(db, therapist, therapist.clinician_id, "a new password")
        with pytest.raises(Forbidden):
            accounts.set_password(db, other_therapist, therapist.clinician_id, "hijacked!!")
    with clinic.session() as db:
        assert accounts.authenticate(db, "tess", "a new password") is not None
