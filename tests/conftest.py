"""Shared fixtures: small music files written on the fly, and the real data folders."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import symusic
import torch

# Tests run small models; on a 2-core machine shared with other processes, more threads only
# add OpenMP hand-offs (oversubscribed, they slowed the suite ~20x).
torch.set_num_threads(1)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NOTTINGHAM_MIDI = SHARED_DATA / "nottingham" / "midi"

C_MAJOR_SCALE = [60, 62, 64, 65, 67, 69, 71, 72]

ABC_TUNE = """X:1
T:Test Tune
M:4/4
L:1/8
K:G
"G"GABc dedB|"C"c2e2 "G"d2B2|"D"A2F2 "G"G4|]
"""

BROKEN_ABC = """X:1
T:Broken
M:4/4
K:Zq
"""


def scale_score(tempo: float = 120.0, tpq: int = 480) -> symusic.Score:
    """A C major scale, one quarter note each, at ``tempo`` in 4/4."""
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, tempo))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    track = symusic.Track("melody", 0, False)
    for i, p in enumerate(C_MAJOR_SCALE):
        track.notes.append(symusic.Note(i * tpq, tpq, p, 80))
    score.tracks.append(track)
    return score


def midi_with_huge_delta() -> bytes:
    """A valid-looking MIDI file whose second event lies ~2^28 ticks later."""
    events = bytes([0x00, 0x90, 60, 64]) + bytes([0xFF, 0xFF, 0xFF, 0x7F, 0x80, 60, 0])
    events += bytes([0x00, 0xFF, 0x2F, 0x00])
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480)
    return header + b"MTrk" + struct.pack(">I", len(events)) + events


@pytest.fixture
def scale_midi(tmp_path: Path) -> Path:
    path = tmp_path / "scale.mid"
    scale_score().dump_midi(path)
    return path


@pytest.fixture
def abc_file(tmp_path: Path) -> Path:
    path = tmp_path / "tune.abc"
    path.write_text(ABC_TUNE)
    return path


@pytest.fixture
def musicxml_file(tmp_path: Path) -> Path:
    from music21 import meter, note, stream, tempo

    part = stream.Part()
    part.append(tempo.MetronomeMark(number=100))
    part.append(meter.TimeSignature("3/4"))
    for p in ["C4", "E4", "G4", "C5", "G4", "E4"]:
        part.append(note.Note(p, quarterLength=1.0))
    path = tmp_path / "piece.musicxml"
    stream.Score([part]).write("musicxml", fp=path)
    return path


@pytest.fixture
def bad_files(tmp_path: Path, scale_midi: Path) -> dict[str, Path]:
    """One file per kind of corruption the issue names, keyed by a readable id."""
    folder = tmp_path / "bad"
    folder.mkdir()
    good = scale_midi.read_bytes()
    files = {
        "truncated-midi": good[: len(good) // 2],
        "random-bytes": bytes(range(256)) * 7,
        "zero-length": b"",
        "huge-delta": midi_with_huge_delta(),
    }
    out = {}
    for name, data in files.items():
        path = folder / f"{name}.mid"
        path.write_bytes(data)
        out[name] = path
    broken = folder / "broken.abc"
    broken.write_text(BROKEN_ABC)
    out["broken-abc"] = broken
    unsupported = folder / "notes.txt"
    unsupported.write_text("not music")
    out["unsupported"] = unsupported
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained one-layer LSTM checkpoint folder: it composes (nonsense) quickly, which is
    all that pipeline, storage and HTTP tests need."""
    from cadence.models import LSTMConfig, build_model
    from cadence.tokens.tokenizer import CadenceTokenizer

    torch.manual_seed(0)
    tok = CadenceTokenizer()
    cfg = LSTMConfig(vocab_size=tok.vocab_size, embed_dim=32, hidden_size=64, num_layers=1)
    folder = tmp_path_factory.mktemp("model") / "tiny"
    build_model(cfg, tok).save_pretrained(folder)
    return folder
