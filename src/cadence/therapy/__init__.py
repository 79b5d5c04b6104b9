"""cadence.therapy: the clinical domain (goals, prescriptions, iso principle, RAS, safety).

Every clinical number sits beside its source; see ``evidence.SOURCES`` and shared/THERAPY.md.
"""

from cadence.therapy.goals import GOALS, LUFS_CAP
from cadence.therapy.prescription import Prescription

__all__ = ["GOALS", "LUFS_CAP", "Prescription"]
