"""Constrained generation: every hard constraint holds for any seed and plan."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.generation.form import plan_form
from cadence.generation.generator import generate, key_shift
from cadence.generation.harmony import progression
from cadence.generation.plan import BarControl, ControlPlan, Idiom
from cadence.generation.sampling import SamplingConfig, sample
from cadence.models import LSTMConfig, TransformerConfig, build_model
from cadence.render.arrange import arrange
from cadence.tokens.tokenizer import CadenceTokenizer

TOK = CadenceTokenizer()


def _tiny(family: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if family == "lstm":
        cfg = LSTMConfig(vocab_size=TOK.vocab_size, embed_dim=16, hidden_size=32, num_layers=1)
    else:
        cfg = TransformerConfig(
            vocab_size=TOK.vocab_size, d_model=32, n_heads=2, n_layers=1, max_seq_len=64
        )
    return build_model(cfg, TOK).eval()


MODELS = {name: _tiny(name) for name in ("lstm", "transformer")}


def _plan(
    n_bars: int,
    tonic: int,
    mode: str,
    meter: tuple[int, int],
    cap: int,
    strict: bool,
    idiom: Idiom | None = None,
) -> ControlPlan:
    bars = tuple(
        BarControl(tempo_bpm=60 + i, density=1.0 + (i % 3), velocity_min=20, velocity_max=cap)
        for i in range(n_bars)
    )
    idiom = idiom or Idiom()
    chords = progression(
        plan_form(n_bars), tonic=tonic, mode=mode, meter=meter,
        bars_per_chord=idiom.bars_per_chord,
    )  # fmt: skip
    return ControlPlan(
        bars=bars, key_tonic=tonic, mode=mode, meter=meter, strict_scale=strict,
        chords=chords, idiom=idiom,
    )  # fmt: skip


def _notes(result):  # (role, pitch, velocity) of every generated note
    return [(t.name, n.pitch, n.velocity) for t in result.score.tracks for n in t.notes]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from(["lstm", "transformer"]),
    seed=st.integers(0, 10_000),
    tonic=st.integers(0, 11),
    mode=st.sampled_from(["major", "minor"]),
    meter=st.sampled_from([(4, 4), (3, 4), (6, 8), (2, 4)]),
    cap=st.integers(30, 127),
    temperature=st.floats(0.5, 1.5),
    grid=st.sampled_from([0.25, 0.5, 1.0]),
)
def test_masking_guarantees(family, seed, tonic, mode, meter, cap, temperature, grid) -> None:
    idiom = Idiom(onset_grid=grid, min_duration=grid)
    plan = _plan(12, tonic, mode, meter, cap, strict=True, idiom=idiom)
    result = generate(
        MODELS[family], plan, seed=seed, sampling=SamplingConfig(temperature=temperature, top_p=1.0)
    )
    assert result.undecodable == 0
    assert [t.name for t in result.score.tracks] == ["melody"]
    melody = result.score.tracks[0].notes
    assert len(melody) > 0, "every bar holds at least one note"
    tpq = result.score.ticks_per_quarter
    for i, note in enumerate(melody):
        assert note.pitch % 12 in plan.scale
        low, high = plan.pitch_range["melody"]
        assert low <= note.pitch <= high
        assert note.time % round(grid * tpq) == 0, "onsets on the plan's grid"
        if i + 1 < len(melody):  # monophonic: no note sounds into the next
            assert note.time + note.duration <= melody[i + 1].time
    assert result.ids.count(TOK.bar_id) == len(plan.bars)
    assert len(result.bar_tokens) == len(plan.bars)
    for bar, body in zip(plan.bars, result.bar_tokens, strict=True):  # density is a hard cap
        n_notes = sum(1 for t in body if TOK.id_to_token[t].startswith("Pitch_"))
        assert 1 <= n_notes <= max(1, math.ceil(bar.density * plan.beats_per_bar * 1.5))
    arranged = arrange(result.score, plan)  # velocity is the renderer's: never over the cap
    assert all(n.velocity <= cap for t in arranged.tracks for n in t.notes)


def test_same_seed_same_music_and_other_seed_differs() -> None:
    plan = _plan(8, 0, "major", (4, 4), 100, strict=True)
    a = generate(MODELS["lstm"], plan, seed=3)
    b = generate(MODELS["lstm"], plan, seed=3)
    c = generate(MODELS["lstm"], plan, seed=4)
    assert a.ids == b.ids
    assert a.ids != c.ids


def test_bars_fit_the_meter() -> None:
    plan = _plan(8, 0, "major", (3, 4), 100, strict=True)
    result = generate(MODELS["transformer"], plan, seed=0)
    tpq = result.score.ticks_per_quarter
    end_limit = 8 * 3 * tpq
    assert max(n.time for t in result.score.tracks for n in t.notes) < end_limit


def test_form_repeats_bars_verbatim_when_constraints_allow() -> None:
    bars = tuple(BarControl(tempo_bpm=80, density=3.0, velocity_max=127) for _ in range(32))
    plan = ControlPlan(bars=bars)
    result = generate(MODELS["lstm"], plan, seed=5)
    form = plan_form(32)
    for index, source in enumerate(form):
        if source.copy_of is not None:
            assert result.bar_tokens[index] == result.bar_tokens[source.copy_of]
    assert result.copied_bars == sum(s.copy_of is not None for s in form)


def test_plan_form_layout() -> None:
    form = plan_form(64, phrase=8)
    assert [s.section for s in form[:32:8]] == ["A0", "A0'", "B0", "A0''"]
    assert form[8].copy_of == 0 and form[14].copy_of is None  # A' keeps 6 bars, new ending
    assert form[32].copy_of == 0  # the second block opens with the first block's theme
    with pytest.raises(ValueError, match="phrase"):
        plan_form(8, phrase=1)


def test_plan_form_parallel_period_restates_the_antecedent_opening() -> None:
    plain, period = plan_form(64, phrase=8), plan_form(64, phrase=8, answers=(2, 0, 3))
    assert plain[4].copy_of is None and plain[20].copy_of is None
    # the consequent (bars 4-7) opens with the antecedent's bars 0-1, then closes anew
    assert [s.copy_of for s in period[:8]] == [None] * 4 + [0, 1, None, None]
    assert [s.copy_of for s in period[16:24]] == [None] * 8  # B: the cycle's second, 0
    assert [s.copy_of for s in period[28:32]] == [24, 25, 26, None]  # A'': third, 3
    assert all(s.copy_of is None or s.copy_of < i for i, s in enumerate(period))
    for bad in ((), (4,), (-1,)):
        with pytest.raises(ValueError, match="answers"):
            plan_form(8, phrase=8, answers=bad)  # the last bar is the cadence's


def test_primer_vary_makes_its_bars_the_theme() -> None:
    plan = _plan(16, 0, "major", (4, 4), 127, strict=True)
    first = generate(MODELS["lstm"], plan, seed=1)
    primer = [TOK.bos_id, *first.ids]
    varied = generate(MODELS["lstm"], plan, seed=2, primer_ids=primer, primer_mode="vary")
    n_theme = len(plan.bars) // 4
    assert varied.bar_tokens[:n_theme] == first.bar_tokens[:n_theme]


@pytest.mark.parametrize(
    ("tonic", "mode", "shift"),
    [(0, "major", 0), (7, "major", -5), (2, "minor", 5), (9, "minor", 0)],
)
def test_key_shift(tonic: int, mode: str, shift: int) -> None:
    plan = _plan(1, tonic, mode, (4, 4), 100, strict=True)
    assert key_shift(plan) == shift


def test_sampling_respects_mask_and_filters() -> None:
    logits = torch.tensor([5.0, 4.0, 3.0, -1.0])
    allowed = torch.tensor([False, True, True, True])
    gen = torch.Generator().manual_seed(0)
    draws = {
        sample(logits, allowed, SamplingConfig(temperature=1.0, top_k=1, top_p=1.0), gen)
        for _ in range(20)
    }
    assert draws == {1}
    greedy = sample(logits, allowed, SamplingConfig(temperature=0.0), gen)
    assert greedy == 1
    nucleus = {
        sample(logits, allowed, SamplingConfig(temperature=1.0, top_p=0.5), gen) for _ in range(20)
    }
    assert nucleus == {1}
    with pytest.raises(ValueError, match="top_p"):
        SamplingConfig(top_p=0.0)
