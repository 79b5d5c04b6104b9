"""Alembic migrations of the clinic schema, run to head by :func:`cadence.clinic.db.open_clinic`."""
