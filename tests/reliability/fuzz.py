"""Mutation fuzzing of the files Cadence reads: seeds, mutators and a crash-safe runner.

Every mutant comes from a seeded ``random.Random``, so a run is reproducible from its seed.
Each mutant is loaded in a worker process under a time limit; the outcome is ``ok`` (it
loaded), ``rejected`` (a documented exception, with its reason), ``crash`` (anything else) or
``hang`` (over the limit). Crashing and hanging mutants are kept under out/reliability/fuzz/ so
they can be replayed.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import signal
import struct
import time
import traceback
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

Mutator = Callable[[random.Random, bytes, list[bytes]], bytes]

# --- generic byte mutators -------------------------------------------------------------------

INTERESTING = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x3C, 0x3E, 0x22, 0x0A]


def flip_bits(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if buf:
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
    return bytes(buf)


def set_bytes(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        if buf:
            buf[rng.randrange(len(buf))] = rng.choice(INTERESTING)
    return bytes(buf)


def truncate(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    return data[: rng.randrange(max(1, len(data)))]


def splice(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    other = rng.choice(others) if others else data
    cut_a = rng.randrange(max(1, len(data)))
    cut_b = rng.randrange(max(1, len(other)))
    return data[:cut_a] + other[cut_b:]


def insert_delete(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(buf) + 1)
        if rng.random() < 0.5 and buf:
            del buf[i : i + rng.randint(1, 64)]
        else:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(buf)


def duplicate_block(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    if len(data) < 2:
        return data * 2
    a = rng.randrange(len(data) - 1)
    b = min(len(data), a + rng.randint(1, 512))
    at = rng.randrange(len(data))
    return data[:at] + data[a:b] * rng.randint(1, 20) + data[at:]


def header_corrupt(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    """Overwrite bytes in the first 64 (magic numbers, header fields, chunk lengths)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        if buf:
            buf[rng.randrange(min(64, len(buf)))] = rng.randrange(256)
    return bytes(buf)


BYTE_MUTATORS: list[Mutator] = [
    flip_bits, set_bytes, truncate, splice, insert_delete, duplicate_block, header_corrupt,
]  # fmt: skip

# --- format-aware mutators --------------------------------------------------------------------


def midi_lengths(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    """Set the MThd or an MTrk chunk length, the track count or the division to an extreme."""
    buf = bytearray(data)
    spots = [i + 4 for i in range(len(buf) - 8) if buf[i : i + 4] in (b"MThd", b"MTrk")]
    extremes = [0, 1, 6, 0x7FFFFFFF, 0xFFFFFFFF, len(buf), len(buf) * 1000]
    if spots:
        at = rng.choice(spots)
        buf[at : at + 4] = struct.pack(">I", rng.choice(extremes))
    if len(buf) >= 14 and rng.random() < 0.5:
        field_at = rng.choice([8, 10, 12])  # format, ntracks, division
        buf[field_at : field_at + 2] = struct.pack(
            ">H", rng.choice([0, 1, 2, 3, 0x7FFF, 0xFFFF, 0xE728])
        )
    return bytes(buf)


def midi_events(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    """Insert hostile events: tempo 0 or huge, odd time signatures, huge delta times, sysex."""
    events = [
        b"\x00\xff\x51\x03\x00\x00\x00",  # tempo 0 us per quarter
        b"\x00\xff\x51\x03\xff\xff\xff",  # tempo ~16.7 s per quarter
        b"\x00\xff\x58\x04\x00\x00\x18\x08",  # 0/1 time signature
        b"\x00\xff\x58\x04\xff\xff\x18\x08",  # 255/2^255
        b"\x00\xff\x59\x02\x7f\x05",  # key signature out of range
        b"\xff\xff\xff\x7f\x90\x3c\x40",  # a delta of 2^28 - 1 ticks
        b"\x00\xf0\xff\xff\xff\x7f",  # sysex claiming 256 MB
        b"\x00\xff\x2f\x00",  # end of track in the middle
        b"\x00\x90\x3c",  # a note-on missing its velocity
        b"\x00\xff\x03\x7f" + b"A" * 10,  # a track name longer than the data
    ]
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(22, max(23, len(buf)))
        buf[at:at] = rng.choice(events)
    return bytes(buf)


ABC_TOKENS = [
    "L:1/0\n", "M:0/0\n", "M:99999/1\n", "K:Zq\n", "Q:0\n", "Q:1/4=0\n", "Q:1/4=-99999\n",
    "K:C clef=bogus\n", "L:1/99999999\n", "X:\n", "T:" + "x" * 5000 + "\n",
    "(9", "(0", ">>>>>>>>", "<<<<<<<<", "z999999", "c/0", "C,,,,,,,,,,,,,,", "c''''''''''''",
    "|:" * 50, ":|" * 50, "[1", "[2", '"Zz9/"', '"Gmaj13#11b9/F#"', "!" * 3, "{", "}", "[CEG",
    "^^^^^^c", "__c", "=", "&", "\\\n", "%%MIDI program 999\n", "V:1\n", "V:99999\n", "w:",
    "[K:Zq]", "[M:0/4]", "[L:0]", "x" * 3, "y9", "~" * 9, "Hc", "c3/2>", "c-c-c-c-c-",
]  # fmt: skip


def abc_tokens(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    text = data.decode("utf-8", "replace")
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(ABC_TOKENS) + text[at:]
    return text.encode("utf-8", "replace")


XML_VALUES = ["0", "-1", "99999999", "1e308", "NaN", "-0", "1/0", "", "x", "2147483648"]
XML_TAGS = ["divisions", "duration", "beats", "beat-type", "octave", "alter", "fifths", "step",
            "staves", "voice", "type", "tempo", "per-minute", "measure number"]  # fmt: skip


def xml_values(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    """Replace the content of numeric MusicXML elements with extremes; drop or repeat lines."""
    text = data.decode("utf-8", "replace")
    for _ in range(rng.randint(1, 6)):
        tag = rng.choice(XML_TAGS)
        opening = f"<{tag}>"
        starts = [i for i in range(len(text)) if text.startswith(opening, i)]
        if starts:
            a = rng.choice(starts) + len(opening)
            b = text.find("<", a)
            text = text[:a] + rng.choice(XML_VALUES) + text[b:]
    lines = text.split("\n")
    if rng.random() < 0.5 and lines:
        i = rng.randrange(len(lines))
        if rng.random() < 0.5:
            del lines[i : i + rng.randint(1, 20)]
        else:
            lines[i:i] = lines[i : i + rng.randint(1, 40)] * rng.randint(1, 5)
    return "\n".join(lines).encode()


def wav_header(rng: random.Random, data: bytes, _: list[bytes]) -> bytes:
    """RIFF/fmt/data fields to extremes: channels, rate, bits, block align, chunk sizes."""
    buf = bytearray(data)
    offsets = {4: 4, 16: 4, 20: 2, 22: 2, 24: 4, 28: 4, 32: 2, 34: 2, 40: 4}
    for _ in range(rng.randint(1, 3)):
        at, size = rng.choice(list(offsets.items()))
        if len(buf) >= at + size:
            value = rng.choice([0, 1, 3, 255, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF])
            buf[at : at + size] = value.to_bytes(4, "little")[:size]
    return bytes(buf)


@dataclass(frozen=True)
class Format:
    """One input format: its suffix, seeds and mutators."""

    name: str
    suffix: str
    mutators: list[Mutator]


FORMATS = {
    "midi": Format("midi", ".mid", [*BYTE_MUTATORS, midi_lengths, midi_events, midi_events]),
    "abc": Format("abc", ".abc", [*BYTE_MUTATORS, abc_tokens, abc_tokens, abc_tokens]),
    "musicxml": Format("musicxml", ".musicxml", [*BYTE_MUTATORS, xml_values, xml_values]),
    "mxl": Format("mxl", ".mxl", BYTE_MUTATORS),
    "wav": Format("wav", ".wav", [*BYTE_MUTATORS, wav_header, wav_header]),
    "ogg": Format("ogg", ".ogg", BYTE_MUTATORS),
}


def mutants(fmt: Format, seeds: list[bytes], n: int, seed: int) -> Iterator[tuple[int, bytes, str]]:
    """``n`` mutants (index, bytes, mutator names) of ``seeds``, reproducible from ``seed``."""
    rng = random.Random(f"{fmt.name}:{seed}")
    for i in range(n):
        data = rng.choice(seeds)
        names = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            mutator = rng.choice(fmt.mutators)
            data = mutator(rng, data, seeds)
            names.append(mutator.__name__)
        yield i, data, "+".join(names)


# --- seeds ------------------------------------------------------------------------------------


def abc_tunes(folder: Path, limit: int) -> list[bytes]:
    """Single tunes (short ones first) from the ABC files in ``folder``."""
    tunes = []
    for path in sorted(folder.glob("*.abc")):
        text = path.read_text(encoding="utf-8", errors="replace")
        tunes += ["X:" + t for t in text.split("\nX:")[1:]]
    tunes.sort(key=len)
    shorter = tunes[: len(tunes) // 2]  # the shorter half, evenly sampled: quick to parse
    step = max(1, len(shorter) // limit)
    return [t.encode() for t in shorter[::step][:limit]]


def audio_seeds(folder: Path) -> dict[str, list[bytes]]:
    """Short WAV (PCM 16, float) and OGG Vorbis clips of a pulsed tone, made with soundfile."""
    import soundfile

    rate = 22050
    t = np.arange(int(rate * 1.6)) / rate
    tone = 0.3 * np.sin(2 * np.pi * 330 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    stereo = np.stack([tone, np.roll(tone, 500)], axis=1)
    out: dict[str, list[bytes]] = {"wav": [], "ogg": []}
    for i, (data, subtype) in enumerate([(tone, "PCM_16"), (stereo, "FLOAT"), (tone, "PCM_24")]):
        path = folder / f"seed{i}.wav"
        soundfile.write(str(path), data, rate, subtype=subtype)
        out["wav"].append(path.read_bytes())
    for i, data in enumerate([tone, stereo]):
        path = folder / f"seed{i}.ogg"
        soundfile.write(str(path), data, rate, format="OGG", subtype="VORBIS")
        out["ogg"].append(path.read_bytes())
    return out


def musicxml_seeds(midi_files: list[Path], folder: Path) -> dict[str, list[bytes]]:
    """MusicXML written by Cadence's own engraver (render.score) from real tunes, and the same
    as compressed .mxl containers."""
    from cadence.music.io import load_score
    from cadence.render import score as engrave

    out: dict[str, list[bytes]] = {"musicxml": [], "mxl": []}
    for i, midi in enumerate(midi_files):
        path = folder / f"seed{i}.musicxml"
        engrave.to_musicxml(load_score(midi), path)
        xml = path.read_bytes()
        out["musicxml"].append(xml)
        container = folder / f"seed{i}.mxl"
        with zipfile.ZipFile(container, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(
                "META-INF/container.xml",
                '<?xml version="1.0" encoding="UTF-8"?><container><rootfiles>'
                '<rootfile full-path="score.musicxml"/></rootfiles></container>',
            )
            z.writestr("score.musicxml", xml)
        out["mxl"].append(container.read_bytes())
    return out


# --- the runner -------------------------------------------------------------------------------


class _Timeout(BaseException):
    """The alarm inside a worker (a BaseException, so no loader's except clause eats it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


def _init_worker() -> None:
    import warnings

    signal.signal(signal.SIGALRM, _alarm)
    warnings.simplefilter("ignore")  # librosa and music21 warn loudly on broken input


def load_symbolic(path: Path) -> str:
    from cadence.music.io import load_score

    score = load_score(path)
    return f"{sum(len(t.notes) for t in score.tracks)} notes"


def load_audio(path: Path) -> str:
    from cadence.music.audio_analysis import analyze_audio

    return f"{analyze_audio(path).tempo_bpm:.0f} BPM"


def expected_errors(target: str) -> tuple[type[BaseException], ...]:
    """The documented rejections: formats.LOADING_ERRORS for scores, CadenceError for both."""
    from cadence.errors import CadenceError
    from cadence.music.formats import LOADING_ERRORS

    return (*LOADING_ERRORS, CadenceError) if target == "symbolic" else (CadenceError,)


def _run_one(job: tuple[str, str, float]) -> tuple[str, str, float]:
    target, path, limit = job
    loader = load_symbolic if target == "symbolic" else load_audio
    t0 = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        detail = loader(Path(path))
        outcome = "ok"
    except _Timeout:
        outcome, detail = "hang", f"over {limit:g} s"
    except expected_errors(target) as err:
        outcome = "rejected"
        detail = f"{type(err).__name__}: {err}".strip()
    # Anything else is a crash: this broad catch only classifies it, and the test fails on it.
    except Exception as err:  # noqa: BLE001
        outcome = "crash"
        detail = "".join(traceback.format_exception(err))[-3000:]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return outcome, detail, time.perf_counter() - t0


@dataclass
class FuzzResult:
    """What a fuzzing run saw, per format."""

    outcomes: dict[str, Counter] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    slowest: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, Counter] = field(default_factory=dict)
    slowest_file: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.outcomes.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "mutants": self.total,
            "outcomes": {k: dict(v) for k, v in self.outcomes.items()},
            "failures": self.failures,
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
            "slowest_mutant_s": {k: round(v, 2) for k, v in self.slowest.items()},
            "slowest_mutant": self.slowest_file,
            "top_rejection_reasons": {k: dict(v.most_common(8)) for k, v in self.reasons.items()},
        }


def run_fuzz(
    plan: dict[str, int],
    seeds: dict[str, list[bytes]],
    folder: Path,
    keep: Path,
    *,
    seed: int,
    limit: float = 20.0,
    workers: int = 2,
) -> FuzzResult:
    """Fuzz each format in ``plan`` (format -> number of mutants); mutants are written under
    ``folder``, and crashing or hanging ones copied to ``keep``."""
    result = FuzzResult()
    ctx = mp.get_context("fork")
    for name, n in plan.items():
        fmt = FORMATS[name]
        target = "audio" if name in ("wav", "ogg") else "symbolic"
        sub = folder / name
        sub.mkdir(parents=True, exist_ok=True)
        jobs, labels = [], {}
        for i, data, how in mutants(fmt, seeds[name], n, seed):
            path = sub / f"m{i:05d}{fmt.suffix}"
            path.write_bytes(data)
            jobs.append((target, str(path), limit))
            labels[str(path)] = how
        counts: Counter = Counter()
        reasons: Counter = Counter()
        t0 = time.perf_counter()
        slowest = 0.0
        with ctx.Pool(workers, initializer=_init_worker, maxtasksperchild=400) as pool:
            pending = [(job, pool.apply_async(_run_one, (job,))) for job in jobs]
            for job, res in pending:
                try:
                    outcome, detail, took = res.get(timeout=limit + 60)
                except mp.TimeoutError:  # the worker ignored its alarm (stuck in C code)
                    outcome, detail, took = "hang", f"no answer in {limit + 60:g} s", limit
                if took > slowest:
                    slowest = took
                    result.slowest_file[name] = f"{labels[job[1]]} -> {Path(job[1]).name}"
                if outcome == "rejected":
                    reasons[detail.split(":", 1)[0]] += 1
                    if not detail.split(":", 1)[-1].strip():
                        outcome = "no-reason"  # a documented exception, but an empty message
                counts[outcome] += 1
                if outcome not in ("ok", "rejected"):
                    path = Path(job[1])
                    keep.mkdir(parents=True, exist_ok=True)
                    kept = keep / f"{seed}-{path.parent.name}-{path.name}"
                    kept.write_bytes(path.read_bytes())
                    failure = {"format": name, "outcome": outcome, "file": str(kept)}
                    result.failures.append(
                        {**failure, "mutators": labels[job[1]], "detail": detail}
                    )
        result.outcomes[name] = counts
        result.reasons[name] = reasons
        result.seconds[name] = time.perf_counter() - t0
        result.slowest[name] = slowest
    return result
