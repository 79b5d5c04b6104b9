"""Generation never forces a control value that is rare in the shipped models' training data,
and a checkpoint of the old token format is refused with both format names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from cadence.errors import CadenceError
from cadence.generation.generator import CONTROL_BANDS, BarGenerator
from cadence.models import Model
from cadence.models.shipped import SHIPPED
from cadence.therapy import Prescription
from cadence.therapy.goals import GOALS
from cadence.tokens.controls import MIN_COUNT
from cadence.tokens.dataset import ALL_STYLES
from cadence.tokens.tokenizer import FORMAT

GOAL_INPUTS = {"gait": {"cadence_spm": 100.0}, "anxiety": {"heart_rate": 92.0}}


@pytest.mark.parametrize("family", sorted(SHIPPED))
def test_every_forced_control_is_frequent_in_training(family: str) -> None:
    model = Model.from_pretrained(SHIPPED[family])
    counts = model.extra["control_counts"]
    for goal in GOALS:
        for seed in range(4):
            for kw in ({}, {"mode": "minor", "key": "E"}):
                p = Prescription.for_goal(goal, 4, seed=seed, **GOAL_INPUTS.get(goal, {}), **kw)
                gen = BarGenerator(model, p.to_control_plan(), seed=seed)
                style = counts[f"CtlColl_{p.idiom.style}"]
                for token in gen.piece_controls():
                    assert counts[ALL_STYLES].get(token, 0) >= MIN_COUNT, (goal, token)
                for i in range(len(p.bars)):
                    for token in gen.bar_controls(i):
                        assert style.get(token, 0) >= MIN_COUNT, (goal, seed, kw, token)


def test_old_token_format_is_refused_naming_both(tiny_model: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(tiny_model, old)
    data = json.loads((old / "tokenizer.json").read_text())
    data["format"] = "cadence-tokenizer/1"
    (old / "tokenizer.json").write_text(json.dumps(data))
    with pytest.raises(CadenceError) as err:
        Model.from_pretrained(old)
    message = str(err.value)
    assert "cadence-tokenizer/1" in message and FORMAT in message
    assert "\n" not in message


@pytest.mark.parametrize("goal", ["sleep", "mood"])
def test_sampled_density_and_register_stay_in_band_and_frequent(goal: str) -> None:
    """The model picks each bar's density and register tokens itself, but only among the
    frequent bins within CONTROL_BANDS of the plan's; the chords stay the plan's."""
    model = Model.from_pretrained(SHIPPED["transformer"])
    style = model.extra["control_counts"]
    p = Prescription.for_goal(goal, 1, seed=3, **GOAL_INPUTS.get(goal, {}))
    plan = p.to_control_plan()
    gen = BarGenerator(model, plan, seed=3, form=False)
    counts = style[f"CtlColl_{p.idiom.style}"]
    tok = model.tokenizer
    chosen: dict[str, set[int]] = {"CtlDens": set(), "CtlReg": set()}
    with torch.inference_mode():
        gen.prime()
        for i in range(len(plan.bars)):
            header, logits = gen._sampled_header(i)
            planned = gen.bar_controls(i)
            got = [tok.id_to_token[t] for t in header[1:-1]]
            assert got[2:] == planned[2:], "chords are the plan's"
            for want, have in zip(planned[:2], got[:2], strict=True):
                kind, _, value = have.partition("_")
                assert counts.get(have, 0) >= MIN_COUNT, have
                assert abs(int(value) - int(want.partition("_")[2])) <= CONTROL_BANDS[kind]
                chosen[kind].add(int(value))
            gen._sample_body(logits, gen.rules(i))
    assert all(chosen.values())
