"""Per-goal defaults, each number beside its source.

A :class:`GoalProfile` holds what a goal starts from when the patient's state is unknown, where
it goes, and the fixed settings (mode, meter, instruments, loudness, fades). ``sources`` maps
each parameter to a key of :data:`cadence.therapy.evidence.SOURCES`; the clinician summary
prints them. ``ENGINEERING`` marks numbers no source gives; ``LAY`` marks lay-only figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cadence.generation.plan import Idiom
from cadence.therapy.evidence import ENGINEERING, LAY
from cadence.therapy.iso import State

GOALS = ("sleep", "anxiety", "mood", "gait", "cognition", "pain")

# Hard loudness cap, LUFS integrated, for every goal. WHO-ITU H.870 (2019) limits sound dose
# but gives no digital level: -14 LUFS (the loudest common streaming normalisation level) is
# Cadence's conservative engineering choice; no output may be louder than this.
LUFS_CAP = -14.0

# Default part roles -> General MIDI program. Instrument choices are engineering choices
# (no source prescribes timbre); 46 = orchestral harp, 48 = string ensemble, 32 = acoustic bass,
# 0 = acoustic grand piano, 73 = flute, 89 = warm pad; percussion 0 = standard drum kit.
_SOFT = {"melody": 46, "accompaniment": 48, "bass": 32}
_PIANO = {"melody": 0, "accompaniment": 48, "bass": 32}
_LOW_RANGE = {"melody": (55, 79), "accompaniment": (40, 67), "bass": (28, 52)}
_MID_RANGE = {"melody": (60, 84), "accompaniment": (43, 72), "bass": (28, 55)}
# Bars of each new phrase's first half that its second half restates, cycled over phrases
# (generation.form): set so that the mean bar similarity at the 4-bar lag falls near the
# reference style's (test+valid splits: essenKinder 0.42, bach 0.34, nottingham 0.36; each
# spread from 0, nothing restated, to 1, a literal repeat). ENGINEERING, fitted by eye to
# those figures (docs/musicality.md).
KINDER_ANSWERS = (0, 2, 3)
CHORALE_ANSWERS = (0, 0, 1, 3)
FOLK_ANSWERS = (0, 0, 2, 3)


@dataclass(frozen=True)
class GoalProfile:
    """Defaults for one goal; ``start`` is used only when no patient state is given."""

    start: State
    target: State
    mode: str
    meter: tuple[int, int]
    programs: dict[str, int]
    pitch_range: dict[str, tuple[int, int]]
    target_lufs: float
    fade_in_s: float
    fade_out_s: float
    typical_dose: str
    sources: dict[str, str] = field(default_factory=dict)
    beat_layer: bool = False
    strict_scale: bool = True
    idiom: Idiom = field(default_factory=lambda: Idiom())


PROFILES: dict[str, GoalProfile] = {
    "sleep": GoalProfile(
        # Start 72 BPM and end 60 BPM: inside the "60-80 BPM, near resting heart rate" rule,
        # which rests on LAY sources only. Arousal/valence/density/register/velocity figures
        # are ENGINEERING choices expressing THERAPY.md's "slow tempo, little rhythmic change,
        # no sudden changes in dynamics".
        start=State(
            tempo_bpm=72.0, arousal=-0.2, valence=0.2, density=2.0, register=64.0, velocity_max=75.0
        ),
        target=State(
            tempo_bpm=60.0, arousal=-0.8, valence=0.2, density=1.0, register=60.0, velocity_max=60.0
        ),
        mode="major",  # consonant, tonal music predicts relaxation (ParadaCabaleiro2022)
        meter=(3, 4),  # ENGINEERING: a lilting, regular meter
        programs=dict(_SOFT),
        pitch_range=dict(_LOW_RANGE),
        target_lufs=-30.0,  # ENGINEERING: quiet bedside level, well under LUFS_CAP
        fade_in_s=10.0,  # ENGINEERING
        fade_out_s=120.0,  # ENGINEERING figure for THERAPY.md's "gradual fade"
        typical_dose="25-60 min a day for 3 days to 5 weeks",  # Cochrane CD010459.pub2
        sources={
            "tempo_bpm": LAY,
            "dose": "Cochrane",
            "mode": "ParadaCabaleiro2022",
            "arousal/density/register/velocity": ENGINEERING,
            "fades": ENGINEERING,
            "idiom": ENGINEERING,
        },
        # Lullabies (Essen children's songs), sustained pads, one chord every two bars and
        # no note shorter than an eighth: "slow tempo with little rhythmic change" (THERAPY.md,
        # sleep). The style and pattern are ENGINEERING choices.
        idiom=Idiom(
            style="essenKinder", texture="pad", bars_per_chord=2.0, onset_grid=0.5,
            min_duration=0.5, answers=KINDER_ANSWERS,
        ),
    ),
    "anxiety": GoalProfile(
        # With no heart rate, start at a moderately aroused state (ENGINEERING); with one,
        # tempo tracks it (iso principle, Altshuler1948, DavisGfellerThaut2008). End slow,
        # soft and low: Cotoia2018's "slow, low music"; the 60 BPM figure is ENGINEERING.
        start=State(
            tempo_bpm=90.0, arousal=0.5, valence=-0.2, density=2.5, register=67.0, velocity_max=85.0
        ),
        target=State(
            tempo_bpm=60.0, arousal=-0.6, valence=0.3, density=1.2, register=60.0, velocity_max=65.0
        ),
        mode="major",  # consonant, tonal, harmonic music predicts relaxation (ParadaCabaleiro2022)
        meter=(4, 4),  # ENGINEERING
        programs=dict(_SOFT),
        pitch_range=dict(_LOW_RANGE),
        target_lufs=-26.0,  # ENGINEERING
        fade_in_s=5.0,  # ENGINEERING
        fade_out_s=30.0,  # ENGINEERING
        typical_dose="30 min before a stressful procedure",  # Cotoia2018
        sources={
            "start": "Altshuler1948",
            "path": "DavisGfellerThaut2008",
            "slow, low target": "Cotoia2018",
            "mode": "ParadaCabaleiro2022",
            "dose": "Cotoia2018",
            "numbers": ENGINEERING,
            "idiom": ENGINEERING,
        },
        # Chorale melodies over a slow broken chord: consonant, tonal, harmonic music
        # (ParadaCabaleiro2022); style and pattern are ENGINEERING choices. Two chords a bar:
        # chorales change harmony on the beat, and a soprano over one chord a bar arpeggiates.
        idiom=Idiom(
            style="bach", texture="arpeggio", bars_per_chord=0.5, onset_grid=0.5,
            min_duration=0.5, answers=CHORALE_ANSWERS,
        ),
    ),
    "mood": GoalProfile(
        # Start by matching a low mood (iso principle, Altshuler1948); end faster, louder,
        # busier, major (GagnonPeretz2003: tempo is the stronger cue). Numbers: ENGINEERING.
        start=State(
            tempo_bpm=70.0,
            arousal=-0.4,
            valence=-0.5,
            density=1.5,
            register=64.0,
            velocity_max=70.0,
        ),
        target=State(
            tempo_bpm=120.0, arousal=0.5, valence=0.7, density=3.0, register=72.0, velocity_max=95.0
        ),
        mode="major",  # major mode reads as happy (GagnonPeretz2003)
        meter=(4, 4),  # ENGINEERING
        programs=dict(_PIANO),
        pitch_range=dict(_MID_RANGE),
        target_lufs=-20.0,  # ENGINEERING
        fade_in_s=5.0,  # ENGINEERING
        fade_out_s=10.0,  # ENGINEERING
        typical_dose="no trial dose in THERAPY.md; clinician's choice",
        sources={
            "start": "Altshuler1948",
            "tempo up, major": "GagnonPeretz2003",
            "path": "DavisGfellerThaut2008",
            "numbers": ENGINEERING,
            "idiom": ENGINEERING,
        },
        # Dance tunes over block chords: ENGINEERING.
        idiom=Idiom(
            style="nottingham", texture="block", bars_per_chord=1.0, answers=FOLK_ANSWERS
        ),
    ),
    "gait": GoalProfile(
        # Tempo comes from the measured cadence (ras.py); these states are placeholders.
        start=State(96.0, 0.3, 0.4, 2.0, 67.0, 95.0),
        target=State(96.0, 0.3, 0.4, 2.0, 67.0, 95.0),
        mode="major",  # ENGINEERING
        meter=(4, 4),  # ENGINEERING: one quarter-note beat per step
        programs={**_PIANO, "percussion": 0},  # metronome/percussion layer (MedRhythms)
        pitch_range=dict(_MID_RANGE),
        target_lufs=-18.0,  # ENGINEERING: the beat must stay salient, still under LUFS_CAP
        fade_in_s=2.0,  # ENGINEERING: short, the cue must start promptly
        fade_out_s=5.0,  # ENGINEERING
        typical_dose="30 min, 3x a week for 5 weeks (Awad2024); 30 min a day (Thaut2018)",
        sources={
            "start tempo = cadence, steps 5-10%": "PMC8801707",
            "range -12%..+12%": "SciRep2025",
            "steady beat, ramped changes": "MedRhythms",
            "dose": "Awad2024",
            "home dose": "Thaut2018",
            "stroke protocol": "Thaut1997",
            "screening": "PMC5324039",
            "ramp per bar, accents": ENGINEERING,
            "idiom": ENGINEERING,
        },
        beat_layer=True,
        # Block chords on every beat under the metronome: the "salient embedded beat" of
        # RAS (THERAPY.md); dance tunes keep a steady pulse. Style and pattern: ENGINEERING.
        idiom=Idiom(
            style="nottingham", texture="block", bars_per_chord=1.0, answers=FOLK_ANSWERS
        ),
    ),
    "cognition": GoalProfile(
        # Familiar, predictable: clear meter, repetition, moderate tempo (THERAPY.md);
        # 96 BPM and the other figures are ENGINEERING. Held constant (no iso path).
        start=State(96.0, 0.2, 0.5, 2.0, 67.0, 85.0),
        target=State(96.0, 0.2, 0.5, 2.0, 67.0, 85.0),
        mode="major",  # ENGINEERING
        meter=(4, 4),  # clear meter (THERAPY.md cognition guidance)
        programs=dict(_PIANO),
        pitch_range=dict(_MID_RANGE),
        target_lufs=-23.0,  # ENGINEERING
        fade_in_s=3.0,  # ENGINEERING
        fade_out_s=10.0,  # ENGINEERING
        typical_dose="no trial dose in THERAPY.md; clinician's choice",
        sources={
            "familiar era (ages 13-19)": "Rao2021",
            "numbers": ENGINEERING,
            "idiom": ENGINEERING,
        },
        # Folk tunes with plain block chords: "familiar, predictable structure ... clear
        # meter, repetition" (THERAPY.md, cognition). Style: ENGINEERING.
        idiom=Idiom(
            style="nottingham", texture="block", bars_per_chord=1.0, answers=FOLK_ANSWERS
        ),
    ),
    "pain": GoalProfile(
        # Relaxing defaults, reshaped by the patient's stated arousal/valence preferences
        # (Basinski2021); perceived choice matters (Howlin2022). Numbers: ENGINEERING.
        start=State(66.0, -0.5, 0.4, 1.5, 64.0, 70.0),
        target=State(66.0, -0.5, 0.4, 1.5, 64.0, 70.0),
        mode="major",  # ENGINEERING
        meter=(4, 4),  # ENGINEERING
        programs=dict(_SOFT),
        pitch_range=dict(_MID_RANGE),
        target_lufs=-26.0,  # ENGINEERING
        fade_in_s=5.0,  # ENGINEERING
        fade_out_s=20.0,  # ENGINEERING
        typical_dose="no trial dose in THERAPY.md; clinician's choice",
        sources={
            "preferences shape the target": "Basinski2021",
            "choice": "Howlin2022",
            "numbers": ENGINEERING,
            "idiom": ENGINEERING,
        },
        # Relaxing defaults: chorale melodies over sustained chords (ENGINEERING).
        idiom=Idiom(
            style="bach", texture="pad", bars_per_chord=0.5, onset_grid=0.5, min_duration=0.5,
            answers=CHORALE_ANSWERS,
        ),
    ),
}

# The style each goal's melodies are conditioned on, and measured against (the musicality
# benchmark's reference: the held-out pieces of these collections).
GOAL_STYLES: dict[str, tuple[str, ...]] = {g: (p.idiom.style,) for g, p in PROFILES.items()}

# Breathing cue: loudness envelope at 75% of resting breathing rate (Leslie2019).
BREATHING_FRACTION = 0.75
# Reminiscence era: music heard at ages 13-19 is best recalled (Rao2021).
REMINISCENCE_AGES = (13, 19)
