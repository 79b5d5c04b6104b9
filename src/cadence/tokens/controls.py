"""Cadence control tokens: per-piece and per-bar conditioning, added to the MidiTok vocabulary.

Per piece (after BOS): mode, tempo bin, meter, source collection.
Per bar (right after each ``Bar_None``): note-density bin, mean-pitch (register) bin,
mean-velocity bin and arousal bin. Generation steers bar by bar by forcing these tokens.

Bin edges are engineering choices that split the training corpora into well-populated bins;
the arousal estimate they bin is documented in ``cadence.music.features``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

TEMPO_EDGES = (60.0, 72.0, 84.0, 96.0, 108.0, 120.0, 144.0)  # quarter notes per minute
DENSITY_EDGES = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)  # note onsets per quarter note
REGISTER_EDGES = (48.0, 54.0, 58.0, 62.0, 66.0, 70.0, 76.0)  # mean MIDI pitch
VELOCITY_EDGES = (40.0, 55.0, 65.0, 75.0, 85.0, 95.0, 110.0)  # mean MIDI velocity
AROUSAL_EDGES = (-0.6, -0.2, 0.2, 0.6)  # arousal estimate, −1..1

METERS = ("2/4", "3/4", "4/4", "6/8", "9/8", "12/8", "2/2", "3/8")
COLLECTIONS = (
    "nottingham",
    "essenFolksong",
    "oneills1850",
    "ryansMammoth",
    "airdsAirs",
    "bach",
    "miscFolk",
    "other",
)
NONE = "none"

PIECE_TYPES = ("CtlMode", "CtlTempo", "CtlMeter", "CtlColl")
BAR_TYPES = ("CtlDens", "CtlReg", "CtlVel", "CtlArou")


def bin_index(value: float, edges: Sequence[float]) -> int:
    """Index of the bin holding ``value``: 0 below edges[0] .. len(edges) at or above the last."""
    return bisect.bisect_right(edges, value)


def bin_centre(index: int, edges: Sequence[float]) -> float:
    """A representative value of bin ``index`` (the mid-point; outer bins extend by one step)."""
    if index <= 0:
        return edges[0] - (edges[1] - edges[0]) / 2
    if index >= len(edges):
        return edges[-1] + (edges[-1] - edges[-2]) / 2
    return (edges[index - 1] + edges[index]) / 2


def all_control_tokens() -> list[str]:
    """Every control token, in the fixed order they are added to the vocabulary."""
    tokens = [f"CtlMode_{m}" for m in ("major", "minor")]
    tokens += [f"CtlTempo_{i}" for i in range(len(TEMPO_EDGES) + 1)]
    tokens += [f"CtlMeter_{m}" for m in (*METERS, "other")]
    tokens += [f"CtlColl_{c}" for c in COLLECTIONS]
    tokens += [f"CtlDens_{i}" for i in range(len(DENSITY_EDGES) + 1)]
    tokens += [f"CtlReg_{i}" for i in range(len(REGISTER_EDGES) + 1)] + [f"CtlReg_{NONE}"]
    tokens += [f"CtlVel_{i}" for i in range(len(VELOCITY_EDGES) + 1)] + [f"CtlVel_{NONE}"]
    tokens += [f"CtlArou_{i}" for i in range(len(AROUSAL_EDGES) + 1)]
    return tokens


def collection_token(name: str) -> str:
    """The collection token for a source name (case-insensitive substring match)."""
    low = name.lower()
    for c in COLLECTIONS:
        if c.lower() in low:
            return f"CtlColl_{c}"
    return "CtlColl_other"


def piece_tokens(mode: str, tempo_bpm: float, meter: str, collection: str) -> list[str]:
    meter_tok = meter if meter in METERS else "other"
    return [
        f"CtlMode_{mode}",
        f"CtlTempo_{bin_index(tempo_bpm, TEMPO_EDGES)}",
        f"CtlMeter_{meter_tok}",
        collection_token(collection),
    ]


def bar_tokens(
    density: float, mean_pitch: float, mean_velocity: float, arousal: float
) -> list[str]:
    reg = NONE if math.isnan(mean_pitch) else str(bin_index(mean_pitch, REGISTER_EDGES))
    vel = NONE if math.isnan(mean_velocity) else str(bin_index(mean_velocity, VELOCITY_EDGES))
    return [
        f"CtlDens_{bin_index(density, DENSITY_EDGES)}",
        f"CtlReg_{reg}",
        f"CtlVel_{vel}",
        f"CtlArou_{bin_index(arousal, AROUSAL_EDGES)}",
    ]
