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
            accounts.create_clinician(db, Actor.system(), "tess", "another passage", "admin")
        with pytest.raises(InvalidValue, match="role"):
            accounts.create_clinician(db, Actor.system(), "x1", "long enough", "nurse")
        with pytest.raises(InvalidValue, match="at least 12"):
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


@pytest.mark.parametrize(
    ("password", "needle"),
    [("password", "at least 12"), ("            ", "only spaces"), ("password1234", "guess"),
     ("qwertyuiop123", "guess"), ("tess" * 3 + "2024", "guess"), ("x" * 1025, "at most")],
    ids=["short", "spaces", "common", "keyboard-row", "username", "long"],
)
def test_one_password_rule(clinic: Clinic, therapist: Actor, password: str, needle: str
                           ) -> None:
    """Issue 17: the CLI took "password" and eight spaces. One rule, for new accounts and new
    passwords alike (the API and the pages call the same functions)."""
    assert therapist.clinician_id is not None
    with clinic.session() as db:
        with pytest.raises(InvalidValue, match=needle):
            accounts.create_clinician(db, Actor.system(), "newbie", password, "therapist")
        with pytest.raises(InvalidValue, match=needle):
            accounts.set_password(db, Actor.system(), therapist.clinician_id, password)


def test_disabling_or_a_new_password_ends_earlier_sign_ins(clinic: Clinic, therapist: Actor,
                                                           admin: Actor) -> None:
    from datetime import timedelta

    from cadence.clinic.models import utcnow

    assert therapist.clinician_id is not None
    before = utcnow() - timedelta(seconds=1)
    with clinic.session() as db:
        me = accounts.get_clinician(db, therapist.clinician_id)
        assert accounts.sign_in_holds(me, before)
        with pytest.raises(InvalidValue, match="own account"):
            accounts.set_active(db, admin, admin.clinician_id or 0, False)
        accounts.set_active(db, admin, therapist.clinician_id, False)
        assert not accounts.sign_in_holds(accounts.get_clinician(db, therapist.clinician_id),
                                          utcnow())
        accounts.set_active(db, admin, therapist.clinician_id, True)
        again = accounts.get_clinician(db, therapist.clinician_id)
        assert not accounts.sign_in_holds(again, before)  # old tokens stay ended
        assert accounts.sign_in_holds(again, utcnow())
        accounts.set_password(db, therapist, therapist.clinician_id, "a new password")
        assert not accounts.sign_in_holds(accounts.get_clinician(db, therapist.clinician_id),
                                          before + timedelta(seconds=0.5))
