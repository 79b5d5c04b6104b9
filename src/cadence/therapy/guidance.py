"""What a patient reads before listening: a title per goal and listening guidance, in plain words.

Each line of advice names the key of :data:`cadence.therapy.evidence.SOURCES` it rests on
(``ENGINEERING`` where it is Cadence's own cautious advice, such as walking with support). The
patient's listening page shows them; it defines no advice of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cadence.therapy.evidence import ENGINEERING
from cadence.therapy.goals import GOALS


@dataclass(frozen=True)
class Advice:
    text: str
    source: str  # a key of evidence.SOURCES


@dataclass(frozen=True)
class ListeningGuide:
    title: str  # the session's title for the patient, e.g. "Music to help you sleep"
    advice: tuple[Advice, ...]


# Every goal: a safe volume (WHO-ITU H.870 limits the weekly sound dose) and a way out.
VOLUME = Advice(
    "Keep the volume low and comfortable: you should still hear someone talking to you. "
    "Turn it down if it ever feels loud.",
    "WHO",
)
STOP = Advice(
    "Stop the music and tell your therapist if it makes you dizzy, unwell or upset.",
    ENGINEERING,
)

GUIDES: dict[str, ListeningGuide] = {
    "sleep": ListeningGuide(
        "Music to help you sleep",
        (
            Advice("Listen in bed or in a comfortable chair, lying or sitting down, with the "
                   "lights low.", ENGINEERING),
            Advice("Listen every day for as long as your therapist asked; studies used 25 to 60 "
                   "minutes a day.", "Cochrane"),
            Advice("The music slows and fades out slowly at the end: you can let yourself fall "
                   "asleep.", "Cochrane"),
            Advice("Do not listen while driving or doing anything that needs your attention.",
                   ENGINEERING),
        ),
    ),
    "anxiety": ListeningGuide(
        "Music to help you relax",
        (
            Advice("Sit or lie down somewhere quiet where nobody will disturb you until the "
                   "music ends.", "Cotoia2018"),
            Advice("The music starts near how you feel now and slowly calms down: let your "
                   "breathing slow with it.", "Altshuler1948"),
        ),
    ),
    "mood": ListeningGuide(
        "Music to lift your mood",
        (
            Advice("Listen when you can give the music your attention; tapping or moving along "
                   "is welcome.", ENGINEERING),
            Advice("The music starts gently and becomes brighter and livelier as it goes.",
                   "GagnonPeretz2003"),
        ),
    ),
    "gait": ListeningGuide(
        "Music to walk to",
        (
            Advice("Walk only with the support your therapist agreed: a person beside you, your "
                   "walking aid, or a handrail.", ENGINEERING),
            Advice("Walk in a clear, well-lit space with nothing on the floor to trip over.",
                   ENGINEERING),
            Advice("Take one step on each beat. If the beat feels too fast, stop and rest; do not "
                   "hurry to keep up.", "PMC8801707"),
        ),
    ),
    "cognition": ListeningGuide(
        "Music to remember and enjoy",
        (
            Advice("Listen with someone you know if you like; singing or humming along is "
                   "welcome.", "Rao2021"),
            Advice("Sit comfortably somewhere quiet, without a television or radio on.",
                   ENGINEERING),
        ),
    ),
    "pain": ListeningGuide(
        "Music to ease your pain",
        (
            Advice("Find the position that is most comfortable for you. You can pause or stop "
                   "whenever you want.", "Howlin2022"),
            Advice("Tell your therapist which parts of the music helped most.", "Basinski2021"),
        ),
    ),
}
assert set(GUIDES) == set(GOALS), "a listening guide for every goal"


def guide(goal: str) -> ListeningGuide:
    """The guide for ``goal``; ValueError naming the goal if it is unknown."""
    if goal not in GUIDES:
        raise ValueError(f"goal: got {goal!r}; must be one of {', '.join(GOALS)}")
    return GUIDES[goal]


def advice(goal: str) -> tuple[Advice, ...]:
    """Everything a patient should read before a session of ``goal``: its own advice first,
    then the volume and the way out that hold for every goal."""
    return (*guide(goal).advice, VOLUME, STOP)


def length_in_words(minutes: float) -> str:
    """A session's length as a patient would say it: "about 2 minutes", "1 hour 5 minutes".

    Rounded to the nearest whole minute (at least 1); under a minute reads "under a minute".
    """
    if not math.isfinite(minutes) or minutes <= 0:
        raise ValueError(f"minutes: got {minutes!r}; must be above 0")
    if minutes < 1:
        return "under a minute"
    whole = round(minutes)
    hours, rest = divmod(whole, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour" + ("s" if hours > 1 else ""))
    if rest:
        parts.append(f"{rest} minute" + ("s" if rest > 1 else ""))
    text = " ".join(parts)
    return text if whole == minutes else f"about {text}"
