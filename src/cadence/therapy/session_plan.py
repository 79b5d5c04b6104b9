"""The plan of one session: what :func:`cadence.therapy.session.run_session` plays.

A :class:`SessionPlan` is the prescription plus how to run it (model, primer, sampling, audio
formats) and, for a patient, what personalisation chose (the variant, the adapter, notes and
the suggestion's reason). :func:`cadence.therapy.personalise.plan_session` builds one from a
:class:`~cadence.therapy.request.SessionRequest`; :meth:`SessionPlan.of` wraps a prescription
built by hand (the Python API, benchmarks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadence.generation.sampling_config import SamplingConfig
from cadence.therapy.checks import FieldError
from cadence.therapy.prescription import Prescription
from cadence.therapy.request import AUDIO_FORMATS, PRIMER_MODES, SessionRequest


@dataclass(frozen=True)
class SessionPlan:
    """prescription: what to play. model: a checkpoint folder or a shipped model's name (None:
    the default). primer / primer_mode: a favourite tune and how to use it. sampling: None for
    the defaults. formats: audio formats beside the WAV. patient: the clinic patient code.
    variant: the preference model's variant as played (recorded with the session so that its
    rating teaches the learner). adapter: the patient's fine-tuned adapter folder. notes: what
    personalisation used, in words. reason: why this variant was suggested. request: what was
    asked for, when the plan came from a request. personal: the prescription inputs the
    patient's records gave or changed (a baseline cadence, a recorded fall risk), by input
    name, so that a form can show them as already known."""

    prescription: Prescription
    model: str | Path | None = None
    primer: Path | None = None
    primer_mode: str = "vary"
    sampling: SamplingConfig | None = None
    formats: tuple[str, ...] = ("wav",)
    patient: str | None = None
    variant: dict[str, Any] | None = None
    adapter: Path | None = None
    notes: tuple[str, ...] = ()
    reason: str = ""
    request: SessionRequest | None = None
    personal: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.primer_mode not in PRIMER_MODES:
            raise FieldError(
                "primer_mode", f"primer_mode: got {self.primer_mode!r}; use vary or continue"
            )
        unknown = [f for f in self.formats if f not in AUDIO_FORMATS]
        if unknown:
            raise FieldError("formats", f"formats: unknown audio format {unknown[0]!r}; use "
                             f"{', '.join(AUDIO_FORMATS)}")  # fmt: skip

    @classmethod
    def of(cls, prescription: Prescription, **run: Any) -> SessionPlan:
        """A plan that plays ``prescription`` as it is (no patient); ``run`` sets model,
        primer, primer_mode, sampling and formats."""
        return cls(prescription=prescription, **run)

    def report_fields(self) -> dict[str, Any]:
        """What the plan adds to report.json: the patient's variant, adapter use, notes and the
        suggestion's reason (empty for a session without a patient)."""
        if self.patient is None:
            return {}
        return {
            "patient": self.patient,
            "variant": self.variant,
            "notes": list(self.notes),
            "reason": self.reason,
        }
