"""The patient's listening guide: a title and advice for every goal, each line with a source."""

from __future__ import annotations

import pytest

from cadence.therapy import guidance
from cadence.therapy.evidence import SOURCES
from cadence.therapy.goals import GOALS


@pytest.mark.parametrize("goal", GOALS)
def test_every_goal_has_a_title_and_sourced_advice_with_volume(goal: str) -> None:
    lines = guidance.advice(goal)
    assert guidance.guide(goal).title
    assert all(a.source in SOURCES for a in lines)
    assert any("volume" in a.text for a in lines)


def test_goal_specific_safety_advice() -> None:
    assert any("handrail" in a.text for a in guidance.advice("gait"))
    assert any("lying or sitting" in a.text for a in guidance.advice("sleep"))
    with pytest.raises(ValueError, match="goal: got 'nap'"):
        guidance.guide("nap")


@pytest.mark.parametrize(("minutes", "words"), [
    (0.2, "under a minute"), (2, "2 minutes"), (1, "1 minute"), (30.4, "about 30 minutes"),
    (65, "1 hour 5 minutes"), (120, "2 hours"),
])  # fmt: skip
def test_length_in_words(minutes: float, words: str) -> None:
    assert guidance.length_in_words(minutes) == words
