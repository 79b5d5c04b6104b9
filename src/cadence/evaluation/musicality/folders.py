"""The benchmark over folders: generated pieces (or session folders) grouped by goal, each
goal against the reference pieces of its styles."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from cadence.errors import CadenceError
from cadence.evaluation.musicality.benchmark import run
from cadence.evaluation.musicality.features import EXCERPT_BARS
from cadence.evaluation.musicality.pieces import Piece, load_generated, load_reference

NO_GOAL = "all"  # the group of generated pieces without a prescription

ProgressFn = Callable[[str, int, int], None]


def group_by_goal(pieces: Sequence[Piece]) -> dict[str, list[Piece]]:
    """Pieces by their session goal, in first-seen order; pieces without one under "all"."""
    groups: dict[str, list[Piece]] = {}
    for piece in pieces:
        groups.setdefault(piece.goal or NO_GOAL, []).append(piece)
    return groups


def styles_for(
    goals: Sequence[str],
    styles: Sequence[str] | None,
    goal_styles: Mapping[str, Sequence[str]] | None,
) -> dict[str, tuple[str, ...] | None]:
    """The reference styles of each goal: ``styles`` for all when given, else the goal's
    entry in ``goal_styles``, else None (every collection of the split)."""
    out: dict[str, tuple[str, ...] | None] = {}
    for goal in goals:
        if styles:
            out[goal] = tuple(styles)
        elif goal_styles and goal in goal_styles:
            out[goal] = tuple(goal_styles[goal])
        else:
            out[goal] = None
    return out


def evaluate_folders(
    generated: str | Path,
    reference: str | Path,
    *,
    styles: Sequence[str] | None = None,
    goal_styles: Mapping[str, Sequence[str]] | None = None,
    goals: Sequence[str] | None = None,
    splits: Sequence[str] = ("test",),
    source: str = "tokens",
    limit: int | None = None,
    seed: int = 0,
    bars: int = EXCERPT_BARS,
    on_progress: ProgressFn | None = None,
) -> dict:
    """Read ``generated`` (MIDI files or session folders) and the ``splits`` of the dataset
    ``reference``, and run the benchmark per goal (``benchmark.run``); with ``goals``, only
    the sessions of those goals.

    Raises CadenceError (one line) for a generated folder without MIDI, a reference that is
    not a dataset, or a goal whose styles have no test pieces.
    """
    pieces = load_generated(generated)
    if goals is not None:
        pieces = [p for p in pieces if p.goal in goals]
        if not pieces:
            raise CadenceError(
                f"{generated} holds no session of the goals {', '.join(goals)}; "
                "check the folder or the goals asked for"
            )
    groups = group_by_goal(pieces)
    if goals is not None:  # in the order asked for
        groups = {g: groups[g] for g in goals if g in groups}
    chosen = styles_for(list(groups), styles, goal_styles)

    def read(done: int, total: int) -> None:
        if on_progress:
            on_progress("read reference", done, total)

    refs: dict[tuple[str, ...] | None, list[Piece]] = {}
    for wanted in dict.fromkeys(chosen.values()):
        refs[wanted] = load_reference(
            reference, wanted, split=splits, source=source, limit=limit, on_piece=read
        )

    def measured(done: int, total: int) -> None:
        if on_progress:
            on_progress("measure", done, total)

    result = run(
        groups,
        {goal: refs[chosen[goal]] for goal in groups},
        styles=chosen,
        seed=seed,
        bars=bars,
        on_piece=measured,
    )
    result["reference"] = {"dataset": str(reference), "split": "+".join(splits), "source": source}
    return result
