"""A plain piece without a therapy goal (`cadence generate`): plan → generation → MIDI/WAV."""

from __future__ import annotations

from pathlib import Path

from cadence.generation.generator import generate
from cadence.generation.harmony import with_chords
from cadence.generation.plan import BarControl, ControlPlan
from cadence.generation.sampling import SamplingConfig
from cadence.models import Model
from cadence.models.shipped import resolve_model_dir
from cadence.render import arrange, audio, midi
from cadence.therapy.primer import encode_primer
from cadence.therapy.session import load_primer

PLAIN_LUFS = -18.0  # a comfortable listening level, below the −14 LUFS hard cap
PLAIN_VELOCITY = 100  # MIDI velocity cap of a plain piece (engineering choice)


def plain_plan(
    bars: int, tempo: float, tonic: int, mode: str, meter: tuple[int, int], seed: int = 0
) -> ControlPlan:
    """A plan at one tempo, key and meter, with a seeded chord progression and block chords
    (the default idiom). Raises ValueError for a bad key, mode or meter."""
    plan = ControlPlan(
        bars=tuple(BarControl(tempo_bpm=tempo, velocity_max=PLAIN_VELOCITY) for _ in range(bars)),
        key_tonic=tonic,
        mode=mode,
        meter=meter,
    )
    return with_chords(plan, seed)


def write_piece(
    plan: ControlPlan,
    out: str | Path,
    *,
    model: str | Path | None = None,
    primer: str | Path | None = None,
    seed: int = 0,
    sampling: SamplingConfig | None = None,
    audio_out: bool = True,
) -> list[Path]:
    """Generate ``plan`` and write ``piece.mid`` (and ``piece.wav``); returns the paths."""
    primer_score = load_primer(primer)
    net = Model.from_pretrained(resolve_model_dir(model))
    net.eval()
    primer_ids = encode_primer(net.tokenizer, primer_score) if primer_score is not None else None
    result = generate(
        net, plan, sampling=sampling, seed=seed, primer_ids=primer_ids, primer_mode="continue"
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "piece.mid"]
    midi.to_midi(arrange.arrange(result.score, plan), paths[0])
    if audio_out:
        wav = audio.to_wav(paths[0], out / "piece.wav", target_lufs=PLAIN_LUFS, fade_out_s=2.0)
        paths.append(wav.path)
    return paths
