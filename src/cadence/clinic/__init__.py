"""Clinic records: the only layer that touches the database.

Patients live under pseudonymous codes; their identifying fields are encrypted at rest with a
per-patient data key wrapped by the master key (see :mod:`cadence.clinic.crypto`). Everything
above this layer (web/, the CLI) calls the service modules (:mod:`~cadence.clinic.accounts`,
:mod:`~cadence.clinic.patients`, :mod:`~cadence.clinic.sessions`, :mod:`~cadence.clinic.feedback`,
:mod:`~cadence.clinic.outcomes`, :mod:`~cadence.clinic.audit`, :mod:`~cadence.clinic.history`,
:mod:`~cadence.clinic.privacy`), which return frozen dataclasses, never ORM rows. The contract
is ``docs/dev/clinic-services.md``.
"""
