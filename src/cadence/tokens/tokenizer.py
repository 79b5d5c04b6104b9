"""The Cadence tokenizer: MidiTok REMI of the melody (time signature, no velocity, no tempo)
plus Cadence control tokens.

A sequence reads::

    BOS CtlMode CtlMeter CtlColl  Bar_None CtlDens CtlReg CtlChord CtlChord TimeSig
    Position Pitch Duration ... Bar_None CtlDens ... EOS

The model composes one monophonic line, the melody (``tokens/melody.py``); velocity and tempo
are realised by the renderer, so MidiTok's velocity and tempo tokens are switched off (its
``use_velocities`` and ``use_tempos`` options). Positions are sixteenth notes: no onset is
finer than a sixteenth.

It saves to and loads from one JSON file (MidiTok's own parameters plus a ``cadence`` section)
and a save → load round trip gives an equal tokenizer. A file or checkpoint written for
another token format is refused with both format names.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import symusic
from miditok import REMI, TokenizerConfig

from cadence.errors import CadenceError
from cadence.music import features as feat
from cadence.tokens import controls
from cadence.tokens.melody import MELODY, BarControls, bar_controls, melody_score

FORMAT = "cadence-tokenizer/2"
BAR_TOKEN = "Bar_None"


class TokenFormatError(CadenceError):
    """A tokenizer file (or a checkpoint's) written for another Cadence token format."""


def default_config() -> TokenizerConfig:
    """REMI of one line: sixteenth-note positions, time signatures, no velocity or tempo."""
    return TokenizerConfig(
        pitch_range=(21, 109),
        beat_res={(0, 4): 4, (4, 12): 2},
        use_velocities=False,
        use_programs=False,
        use_tempos=False,
        use_time_signatures=True,
        time_signature_range={8: [3, 6, 9, 12], 4: [1, 2, 3, 4, 5, 6], 2: [2, 3]},
        special_tokens=["PAD", "BOS", "EOS"],
    )


class CadenceTokenizer:
    """MidiTok REMI with Cadence's control tokens appended to the vocabulary."""

    def __init__(self, config: TokenizerConfig | None = None) -> None:
        self.remi = REMI(config or default_config())
        self._base_size = len(self.remi)
        for token in controls.all_control_tokens():
            self.remi.add_to_vocab(token)
        self.vocab: dict[str, int] = dict(self.remi.vocab)
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.bos_id = self.vocab["BOS_None"]
        self.eos_id = self.vocab["EOS_None"]
        self.pad_id = self.vocab["PAD_None"]
        self.bar_id = self.vocab[BAR_TOKEN]
        self.control_ids = frozenset(range(self._base_size, len(self.vocab)))

    def __len__(self) -> int:
        return len(self.vocab)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, CadenceTokenizer)
            and self.vocab == other.vocab
            and self.to_dict() == other.to_dict()
        )

    __hash__ = None  # type: ignore[assignment]

    # ---- ids and tokens -------------------------------------------------------------------
    def ids(self, tokens: Sequence[str]) -> list[int]:
        return [self.vocab[t] for t in tokens]

    def tokens(self, ids: Sequence[int]) -> list[str]:
        return [self.id_to_token[int(i)] for i in ids]

    def ids_of_type(self, prefix: str) -> list[int]:
        """Ids of every token whose type (the part before ``_``) is ``prefix``."""
        return [i for t, i in self.vocab.items() if t.split("_", 1)[0] == prefix]

    # ---- encode / decode ------------------------------------------------------------------
    def encode(
        self,
        melody: symusic.Score,
        mode: str | None = None,
        meter: str = "4/4",
        collection: str = "other",
        bars: Sequence[BarControls] | None = None,
    ) -> np.ndarray:
        """Token ids of a melody score (see ``tokens.melody.melody_score``).

        With ``mode`` the piece controls are inserted, and with ``bars`` each bar's controls;
        bars beyond the list reuse the last bar's controls.
        """
        seqs = self.remi.encode(melody) if len(melody.tracks) else []
        remi_ids = seqs[0].ids if seqs else []
        out = [self.bos_id]
        if mode is not None:
            out += self.ids(controls.piece_tokens(mode, meter, collection))
        bar_idx = 0
        for tid in remi_ids:
            out.append(tid)
            if tid == self.bar_id and bars:
                b = bars[min(bar_idx, len(bars) - 1)]
                out += self.ids(controls.bar_tokens(b.density, b.mean_pitch, b.chords))
                bar_idx += 1
        out.append(self.eos_id)
        return np.asarray(out, dtype=np.int64)

    def encode_piece(
        self,
        score: symusic.Score,
        collection: str = "other",
        piece: feat.PieceFeatures | None = None,
    ) -> np.ndarray:
        """Token ids of a normalised score (roles assigned, in C major / A minor) as the model
        learns music: its melody, with piece controls and per-bar controls (chords from all
        parts). Training data, primers and fine-tuning tunes all go through here. ``piece``:
        the score's features, when the caller has them already."""
        piece = piece or feat.piece_features(score)
        melody = melody_score(score)
        return self.encode(melody, piece.mode, piece.meter, collection, bar_controls(score, melody))

    def strip_controls(self, ids: Sequence[int]) -> list[int]:
        """Drop control and special tokens, leaving plain REMI ids."""
        skip = self.control_ids | {self.bos_id, self.eos_id, self.pad_id}
        return [int(i) for i in ids if int(i) not in skip]

    def decode(self, ids: Sequence[int]) -> symusic.Score:
        """A Score from token ids: one track, the melody."""
        score = self.remi.decode([self.strip_controls(ids)])
        for track in score.tracks:
            track.name = MELODY
        return score

    # ---- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "remi.json"
            self.remi.save(path)
            remi_params = json.loads(path.read_text())
        remi_params.pop("miditok_version", None)
        remi_params.pop("symusic_version", None)
        remi_params.pop("hf_tokenizers_version", None)
        return {
            "format": FORMAT,
            "remi": remi_params,
            "controls": controls.all_control_tokens(),
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def from_dict(cls, data: dict) -> CadenceTokenizer:
        if data.get("format") != FORMAT:
            raise TokenFormatError(
                f"tokens: this file is in token format {data.get('format')!r} and this version "
                f"of Cadence reads {FORMAT!r}; re-ingest the data, or retrain or re-download "
                "the model (make model)"
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "remi.json"
            path.write_text(json.dumps(data["remi"]))
            config = REMI(params=path).config
        tok = cls(config)
        if data.get("controls") != controls.all_control_tokens():
            raise TokenFormatError(
                "tokenizer controls: this file's control tokens differ from this "
                "version of Cadence; re-ingest the data"
            )
        return tok

    @classmethod
    def load(cls, path: str | Path) -> CadenceTokenizer:
        return cls.from_dict(json.loads(Path(path).read_text()))
