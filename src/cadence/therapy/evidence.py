"""The sources behind every clinical number, shown to the clinician.

Each prescription parameter names one key of :data:`SOURCES`. Two keys are not literature:
``ENGINEERING`` marks a number no source gives (our conservative choice), and ``LAY`` marks a
figure that rests only on lay or vendor sources. The background is in ``shared/THERAPY.md``.
"""

from __future__ import annotations

ENGINEERING = "ENGINEERING"
LAY = "LAY"

SOURCES: dict[str, str] = {
    "PMC8801707": (
        "RAS review, PMC8801707, Table 1: start at the patient's preferred cadence, one beat "
        "per step; raise it in steps of 5-10% as the patient adapts"
    ),
    "SciRep2025": (
        "Sci Rep 2025, s41598-025-12316-9: auditory cues tested from -12% to +12% of cadence"
    ),
    "PMC5324039": "PMC5324039: beat-synchronisation ability predicts RAS response",
    "Thaut1997": "Thaut et al. 1997, J Neurol Sci: RAS gait training after stroke, 6 weeks, 2x/day",
    "Thaut2018": (
        "Thaut et al. 2018, Clin Rehabil: 30 min/day at home, metronome-embedded music, falls "
        "in Parkinson's disease"
    ),
    "Awad2024": (
        "Awad et al. 2024, Nat Commun (InTandem RCT, n=87): 3x30 min/week for 5 weeks; "
        "walking speed +0.14 vs +0.06 m/s"
    ),
    "MedRhythms": (
        "MedRhythms InTandem (vendor description): steady beat, 'imperceptible' tempo changes"
    ),
    "Altshuler1948": "Altshuler 1948: iso principle, match the present state, then move",
    "DavisGfellerThaut2008": (
        "Davis, Gfeller & Thaut 2008, An Introduction to Music Therapy: iso principle"
    ),
    "ParadaCabaleiro2022": (
        "Parada-Cabaleiro et al. 2022, IJERPH: consonant, tonal, harmonic music predicts relaxation"
    ),
    "Cotoia2018": (
        "Cotoia et al. 2018, PMC5859866: 30 min of slow, low music reduced pre-operative STAI"
    ),
    "GagnonPeretz2003": (
        "Gagnon & Peretz 2003, Cognition & Emotion: major mode and faster tempo read as happy; "
        "tempo is the stronger cue"
    ),
    "Cochrane": (
        "Cochrane review CD010459.pub2 (music for insomnia): 25-60 min/day for 3 days to 5 weeks"
    ),
    "Leslie2019": (
        "Leslie et al. 2019: a loudness envelope at ~75% of resting breathing rate slowed "
        "breathing more than a fixed 6 breaths/min"
    ),
    "Rao2021": (
        "Rao et al. 2021, J Multidiscip Healthc, doi 10.2147/JMDH.S312725: music recall peaks "
        "for music heard at ages 13-19"
    ),
    "Howlin2022": "Howlin et al. 2022, PLOS ONE: perceived choice matters more than complexity",
    "Basinski2021": (
        "Basiński et al. 2021, Sci Rep: personal arousal, valence and depth preferences shape "
        "pain relief"
    ),
    "WHO": (
        "WHO-ITU Global standard for safe listening devices and systems (2019, ITU-T H.870): "
        "limit weekly sound dose (80 dB(A) for 40 h/week for adults)"
    ),
    LAY: "lay sources only (no trial gives this figure): the '60-80 BPM, near resting heart "
    "rate' sleep rule",
    ENGINEERING: "engineering choice: no source gives this number; Cadence chose it conservatively",
}

DISCLAIMER = (
    "Cadence supports therapy delivered by a qualified clinician; it does not diagnose or treat."
)


def describe(key: str) -> str:
    """The human-readable text for a source key (the key itself if it is unknown)."""
    return SOURCES.get(key, key)
