"""The clinician-facing summary of a prescription: every parameter beside its source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cadence.therapy.evidence import DISCLAIMER, SOURCES, describe
from cadence.therapy.goals import LUFS_CAP, PROFILES
from cadence.therapy.instruments import key_label, program_name

if TYPE_CHECKING:
    from cadence.therapy.prescription import Prescription


def summarise(p: Prescription) -> str:
    """A readable multi-line summary for a clinician: each parameter and its source."""
    profile = PROFILES[p.goal]
    first, last = p.bars[0], p.bars[-1]
    instruments = ", ".join(
        f"{role} {program_name(prog) if role != 'percussion' else 'drum kit'} ({prog})"
        for role, prog in p.programs.items()
    )
    lines = [
        f"Cadence prescription: {p.goal}, {p.minutes:g} min "
        f"({len(p.bars)} bars, {p.duration_seconds() / 60:.2f} min planned)",
        f"  Key: {key_label(p.key_tonic, p.mode)}; meter {p.meter[0]}/{p.meter[1]}"
        f"; strict scale: {'yes' if p.strict_scale else 'no'}",
        f"  Tempo: {first.tempo_bpm:.1f} -> {last.tempo_bpm:.1f} BPM "
        f"(range {min(b.tempo_bpm for b in p.bars):.1f}-"
        f"{max(b.tempo_bpm for b in p.bars):.1f})",
        f"  Arousal: {first.arousal:+.2f} -> {last.arousal:+.2f}; valence: "
        f"{first.valence:+.2f} -> {last.valence:+.2f}",
        f"  Density: {first.density:.2f} -> {last.density:.2f} notes/beat; register: "
        f"{first.register:.1f} -> {last.register:.1f} (MIDI pitch)",
        f"  Velocity cap: {first.velocity_max} -> {last.velocity_max}",
        f"  Instruments: {instruments}",
        f"  Beat layer: {'on, accents ' + str(p.accents) if p.beat_layer else 'off'}",
        f"  Loudness: target {p.target_lufs:g} LUFS, hard cap {LUFS_CAP:g} LUFS "
        f"[{SOURCES['WHO']}; the figure is an engineering choice]",
        f"  Fades: in {p.fade_in_s:g} s, out {p.fade_out_s:g} s",
        f"  Typical dose: {profile.typical_dose}",
    ]
    inputs = {
        "cadence (spm)": p.cadence_spm,
        "heart rate (BPM)": p.heart_rate,
        "arousal": p.arousal,
        "valence": p.valence,
        "breathing cue (/min)": p.breathing_cue_per_min,
        "reminiscence years": p.reminiscence_years,
    }
    given = [f"{k} {v}" for k, v in inputs.items() if v is not None]
    if p.fall_risk:
        given.append("FALL RISK: no tempo increase")
    if given:
        lines.append(f"  Patient inputs: {'; '.join(given)}")
    lines.append("Sources:")
    lines += [f"  - {param}: {describe(key)}" for param, key in profile.sources.items()]
    if p.breathing_cue_per_min is not None:
        lines.append(f"  - breathing cue: {describe('Leslie2019')}")
    if p.reminiscence_years is not None:
        lines.append(f"  - reminiscence years: {describe('Rao2021')}")
    lines.append(DISCLAIMER)
    return "\n".join(lines)
