"""The Cadence tokenizer: MidiTok REMI (programs, tempo, time signature, velocity) plus
Cadence control tokens.

A sequence reads::

    BOS CtlMode CtlTempo CtlMeter CtlColl  Bar_None CtlDens CtlReg CtlVel CtlArou TimeSig ...
    ... Bar_None CtlDens ... EOS

It saves to and loads from one JSON file (MidiTok's own parameters plus a ``cadence`` section)
and a save → load round trip gives an equal tokenizer.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import symusic
from miditok import REMI, TokenizerConfig

from cadence.music.features import BarFeatures, PieceFeatures
from cadence.tokens import controls
from cadence.tokens.roles import PROGRAM_ROLES, ROLE_PROGRAMS

FORMAT = "cadence-tokenizer/1"
BAR_TOKEN = "Bar_None"


def default_config() -> TokenizerConfig:
    """REMI with programs (one per role), tempos, time signatures and 16 velocity levels."""
    return TokenizerConfig(
        pitch_range=(21, 109),
        beat_res={(0, 4): 8, (4, 12): 4},
        num_velocities=16,
        use_programs=True,
        programs=sorted(ROLE_PROGRAMS.values()),
        one_token_stream_for_programs=True,
        use_tempos=True,
        num_tempos=32,
        tempo_range=(40, 250),
        use_time_signatures=True,
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
        score: symusic.Score,
        piece: PieceFeatures | None = None,
        bars: Sequence[BarFeatures] | None = None,
        collection: str = "other",
    ) -> np.ndarray:
        """Token ids of a score whose tracks already carry role programs (see ``roles``).

        With ``piece`` and ``bars`` the control tokens are inserted; bars beyond the features'
        list reuse the last bar's controls.
        """
        seq = self.remi.encode(score)
        remi_ids = seq.ids if not isinstance(seq, list) else [i for s in seq for i in s.ids]
        out = [self.bos_id]
        if piece is not None:
            out += self.ids(
                controls.piece_tokens(piece.mode, piece.tempo_bpm, piece.meter, collection)
            )
        bar_idx = 0
        for tid in remi_ids:
            out.append(tid)
            if tid == self.bar_id and bars:
                b = bars[min(bar_idx, len(bars) - 1)]
                out += self.ids(
                    controls.bar_tokens(b.density, b.mean_pitch, b.mean_velocity, b.arousal)
                )
                bar_idx += 1
        out.append(self.eos_id)
        return np.asarray(out, dtype=np.int64)

    def strip_controls(self, ids: Sequence[int]) -> list[int]:
        """Drop control and special tokens, leaving plain REMI ids."""
        skip = self.control_ids | {self.bos_id, self.eos_id, self.pad_id}
        return [int(i) for i in ids if int(i) not in skip]

    def decode(self, ids: Sequence[int]) -> symusic.Score:
        """A Score from token ids; tracks are named after their role."""
        score = self.remi.decode(self.strip_controls(ids))
        for track in score.tracks:
            program = -1 if track.is_drum else track.program
            track.name = PROGRAM_ROLES.get(program, "accompaniment")
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
            raise ValueError(f"tokenizer format: expected {FORMAT!r}, got {data.get('format')!r}")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "remi.json"
            path.write_text(json.dumps(data["remi"]))
            config = REMI(params=path).config
        tok = cls(config)
        if data.get("controls") != controls.all_control_tokens():
            raise ValueError(
                "tokenizer controls: this file's control tokens differ from this "
                "version of Cadence; re-ingest the data"
            )
        return tok

    @classmethod
    def load(cls, path: str | Path) -> CadenceTokenizer:
        return cls.from_dict(json.loads(Path(path).read_text()))
