"""Cadence control tokens: per-piece and per-bar conditioning, added to the MidiTok vocabulary.

The model is conditioned only on what the notes carry and the corpus varies (issue 15):

- per piece (after BOS): mode, meter and style (the source collection);
- per bar (right after each ``Bar_None``): melody note density, melody register, and the
  chord of each half of the bar (one chord per bar in triple meters, given twice).

Tempo, velocity, loudness, instrument and articulation are not model inputs: the renderer
realises them exactly. (The first token format also conditioned on tempo, velocity and
arousal bins, which the folk corpora never vary: 2,073 of 2,197 Nottingham and airdsAirs
pieces are at velocity 90 throughout and every Nottingham tune is at 120 BPM, so calm
sessions forced values the model had never seen.)

Bin edges are engineering choices that split the melodies of the training corpora into
well-populated bins; generation maps each plan target into the range the style actually
uses (see :func:`frequent`), so it never forces a rare value.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence

from cadence.music.harmony import all_chord_names

DENSITY_EDGES = (0.4, 0.75, 1.1, 1.6, 2.1, 3.1)  # melody onsets per quarter note
REGISTER_EDGES = (62.0, 66.0, 69.0, 72.0, 75.0, 78.0)  # mean melody MIDI pitch (C major/A minor)

METERS = ("2/4", "3/4", "4/4", "6/8", "9/8", "12/8", "2/2", "3/8")
TRIPLE_METERS = frozenset({"3/4", "9/8", "3/8"})  # one chord per bar
# Styles: the source collections. "essenKinder" is the Essen collection's children's songs
# and lullabies (kinder0.abc), kept apart from the rest of essenFolksong as a calm style.
COLLECTIONS = (
    "nottingham",
    "essenFolksong",
    "essenKinder",
    "oneills1850",
    "ryansMammoth",
    "airdsAirs",
    "bach",
    "palestrina",
    "monteverdi",
    "miscFolk",
    "other",
)
NONE = "none"
# A control value is "frequent" when it occurs at least this often in the training split:
# generation never forces a rarer one (issue 15's test threshold).
MIN_COUNT = 100

PIECE_TYPES = ("CtlMode", "CtlMeter", "CtlColl")
BAR_TYPES = ("CtlDens", "CtlReg", "CtlChord")
BAR_HEADER = ("CtlDens", "CtlReg", "CtlChord", "CtlChord")  # the order after each Bar_None


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
    tokens += [f"CtlMeter_{m}" for m in (*METERS, "other")]
    tokens += [f"CtlColl_{c}" for c in COLLECTIONS]
    tokens += [f"CtlDens_{i}" for i in range(len(DENSITY_EDGES) + 1)]
    tokens += [f"CtlReg_{i}" for i in range(len(REGISTER_EDGES) + 1)] + [f"CtlReg_{NONE}"]
    tokens += [f"CtlChord_{c}" for c in all_chord_names()]
    return tokens


def collection_token(name: str) -> str:
    """The style token for a collection name (exact name, else case-insensitive substring)."""
    if name in COLLECTIONS:
        return f"CtlColl_{name}"
    low = name.lower()
    for c in sorted(COLLECTIONS, key=len, reverse=True):
        if c.lower() in low:
            return f"CtlColl_{c}"
    return "CtlColl_other"


def meter_token(meter: str) -> str:
    return f"CtlMeter_{meter if meter in METERS else 'other'}"


def piece_tokens(mode: str, meter: str, collection: str) -> list[str]:
    return [f"CtlMode_{mode}", meter_token(meter), collection_token(collection)]


def bar_tokens(density: float, mean_pitch: float, chords: tuple[str, str]) -> list[str]:
    """The bar header's control tokens (:data:`BAR_HEADER` order)."""
    reg = NONE if math.isnan(mean_pitch) else str(bin_index(mean_pitch, REGISTER_EDGES))
    return [
        f"CtlDens_{bin_index(density, DENSITY_EDGES)}",
        f"CtlReg_{reg}",
        f"CtlChord_{chords[0]}",
        f"CtlChord_{chords[1]}",
    ]


def frequent(
    wanted: str, counts: Mapping[str, int] | None, *, min_count: int = MIN_COUNT
) -> str:
    """``wanted``, or the nearest token of the same type that is frequent in training.

    ``counts``: control-token counts over the training split (a checkpoint's
    ``control_counts`` for the style). Bins are ordered, so "nearest" is by bin index; chords
    fall back to the most frequent chord sharing the root, then to the most frequent chord.
    Without counts (an untrained test model) ``wanted`` is returned unchanged.
    """
    if not counts or counts.get(wanted, 0) >= min_count:
        return wanted
    kind, _, value = wanted.partition("_")
    pool = {t: n for t, n in counts.items() if t.startswith(kind + "_") and n >= min_count}
    if not pool:
        return max((t for t in counts if t.startswith(kind + "_")), key=counts.get, default=wanted)
    if kind in ("CtlDens", "CtlReg") and value.isdigit():
        numbered = [t for t in pool if t.partition("_")[2].isdigit()]
        if numbered:
            return min(numbered, key=lambda t: (abs(int(t.partition("_")[2]) - int(value)), t))
    if kind == "CtlChord":
        root = value.partition(":")[0]
        same_root = [t for t in pool if t.partition("_")[2].partition(":")[0] == root]
        if same_root:
            return max(same_root, key=lambda t: pool[t])
    return max(pool, key=lambda t: pool[t])


def band(token: str, width: int, counts: Mapping[str, int] | None) -> list[str]:
    """The bins of ``token``'s type within ``width`` bins of it (``token`` included) that are
    frequent in ``counts``, in bin order; just ``token`` for a non-numbered token or without
    counts."""
    kind, _, value = token.partition("_")
    if not counts or not value.isdigit():
        return [token]
    centre = int(value)
    near = [
        f"{kind}_{i}"
        for i in range(centre - width, centre + width + 1)
        if counts.get(f"{kind}_{i}", 0) >= MIN_COUNT
    ]
    return near or [token]


def quantile_token(kind: str, q: float, counts: Mapping[str, int] | None) -> str | None:
    """The ``kind`` bin (e.g. "CtlDens") at quantile ``q`` (0..1) of the style's training
    bars, among bins that are frequent there; None without counts.

    This maps a plan's target into the corpus' own range, so that "calm" means the calm end
    of real bars of the style rather than a value the style never uses.
    """
    if not counts:
        return None
    bins = sorted(
        (int(t.partition("_")[2]), n)
        for t, n in counts.items()
        if t.startswith(kind + "_") and t.partition("_")[2].isdigit() and n >= MIN_COUNT
    )
    if not bins:
        return None
    total = sum(n for _, n in bins)
    target = min(max(q, 0.0), 1.0) * total
    seen = 0
    for index, n in bins:
        seen += n
        if seen >= target:
            return f"{kind}_{index}"
    return f"{kind}_{bins[-1][0]}"
