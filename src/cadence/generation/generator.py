"""Bar-by-bar generation under a ControlPlan, with hard constraints and musical form.

The model writes in C major / A minor (how it was trained); the result is transposed to the
plan's key at the end. Each bar starts with forced tokens (``Bar_None``, the bar's four control
tokens from the plan, the meter) and its body is sampled under the grammar's masks, or copied
from an earlier bar when the form says the theme returns. The model's state (LSTM memory or
the sliding KV cache) is carried from bar to bar, so sessions of any length stream in constant
memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field

import symusic
import torch

from cadence.generation.form import PHRASE_BARS, BarSource, plan_form
from cadence.generation.grammar import BarRules, BarState, Grammar
from cadence.generation.plan import ControlPlan
from cadence.generation.sampling import SamplingConfig, sample
from cadence.music.harmony import chord_tones, transpose_chord
from cadence.tokens import controls
from cadence.tokens.controls import TRIPLE_METERS
from cadence.tokens.dataset import ALL_STYLES
from cadence.tokens.melody import monophonic
from cadence.tokens.tokenizer import CadenceTokenizer

# A bar may hold up to 1.5× its density (melody notes per beat × beats): density varies
# within a phrase, and the cap still bounds arousal (an engineering choice).
DENSITY_SLACK = 1.5
# The plans' melody densities span about this range (notes per beat; the iso states of
# therapy/goals.py run 1.0-3.0): a density's place in it is its quantile in the style.
PLAN_DENSITY_SPAN = (0.5, 3.5)
# The model chooses each bar's density and register tokens within this many bins of the
# plan's (among bins frequent in the style), as real tunes vary from bar to bar (a cadence bar
# holds fewer, longer notes; a line rises and falls over a phrase): a plan that forced one bin
# a bar gave rhythmically uniform, narrow melodies (docs/musicality.md). The bar's note cap
# and the melody's pitch range still follow the plan.
CONTROL_BANDS = {"CtlDens": 1, "CtlReg": 1}


@dataclass
class GenerationResult:
    ids: list[int]  # the whole token stream, in the generation key
    score: symusic.Score  # decoded and transposed to the plan's key; tracks named by role
    shift: int  # semitones applied to reach the plan's key
    sections: list[str]  # form label of each bar
    undecodable: int = 0
    copied_bars: int = 0
    bar_tokens: list[list[int]] = field(default_factory=list)


def key_shift(plan: ControlPlan) -> int:
    """Semitones from C major / A minor to the plan's key, in −5..+6."""
    base = 0 if plan.mode == "major" else 9
    shift = (plan.key_tonic - base) % 12
    return shift - 12 if shift > 6 else shift


class BarGenerator:
    """Streams bars of token ids for a plan; see :func:`generate` for the whole piece."""

    def __init__(
        self,
        model: torch.nn.Module,
        plan: ControlPlan,
        *,
        sampling: SamplingConfig | None = None,
        seed: int = 0,
        style: str | None = None,
        phrase: int = PHRASE_BARS,
        form: bool = True,
    ) -> None:
        self.model = model
        self.tok: CadenceTokenizer = model.tokenizer  # type: ignore[assignment]
        self.plan = plan
        self.sampling = sampling or SamplingConfig()
        self.style = style or plan.idiom.style
        self.shift = key_shift(plan)
        self.grammar = Grammar(self.tok)
        self.timesig = self.grammar.timesig_id(plan.meter)
        self.positions = self.grammar.positions_per_bar(plan.meter)
        meter = f"{plan.meter[0]}/{plan.meter[1]}"
        self.half = 0 if meter in TRIPLE_METERS else self.positions // 2
        self.grid = self.grammar.grid_positions(plan.idiom.onset_grid, plan.meter)
        self.form = (
            plan_form(len(plan.bars), phrase, plan.idiom.answers)
            if form
            else [BarSource("A")] * len(plan.bars)
        )
        self.generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        low, high = plan.pitch_range.get("melody", (55, 84))
        self.pitch_range = (low - self.shift, high - self.shift)
        scale = (
            frozenset((pc - self.shift) % 12 for pc in plan.scale) if plan.strict_scale else None
        )
        self.scale = scale
        counts = getattr(model, "extra", {}).get("control_counts") or {}
        self.counts: dict[str, int] = counts.get(controls.collection_token(self.style), {})
        self.all_counts: dict[str, int] = counts.get(ALL_STYLES, {})
        self.state = None
        self.ids: list[int] = []
        self.bodies: list[list[int]] = []

    def chords(self, index: int) -> tuple[str, str]:
        """The plan's chords of bar ``index`` in the generation key (no chord: "N")."""
        if not self.plan.chords:
            return ("N", "N")
        first, second = self.plan.chords[index]
        return (transpose_chord(first, -self.shift), transpose_chord(second, -self.shift))

    def density(self, index: int) -> tuple[str, float]:
        """The bar's density token and melody notes per beat: the plan's density placed at
        the same quantile of the style's training bars (the bin's upper edge), or the plan's
        own figure for a model without control counts."""
        wanted = self.plan.bars[index].density
        lo, hi = PLAN_DENSITY_SPAN
        token = controls.quantile_token("CtlDens", (wanted - lo) / (hi - lo), self.counts)
        if token is None:
            return f"CtlDens_{controls.bin_index(wanted, controls.DENSITY_EDGES)}", wanted
        edges = controls.DENSITY_EDGES
        b = int(token.partition("_")[2])
        return token, edges[b] if b < len(edges) else controls.bin_centre(b, edges)

    def rules(self, index: int) -> BarRules:
        density = self.density(index)[1]
        max_notes = max(1, math.ceil(density * self.plan.beats_per_bar * DENSITY_SLACK))
        first, second = self.chords(index)
        return BarRules(
            self.scale,
            self.pitch_range,
            self.positions,
            grid=self.grid,
            min_duration=self.grammar.beats(self.plan.idiom.min_duration, self.plan.meter),
            max_notes=max_notes,
            chords=(chord_tones(first), chord_tones(second)),
            half=self.half,
        )

    def piece_controls(self) -> list[str]:
        """Mode, meter and style. Each occurs once a piece, so it is checked against the counts
        over every style (a small style holds too few pieces for any meter to be "frequent")."""
        meter = f"{self.plan.meter[0]}/{self.plan.meter[1]}"
        return [
            controls.frequent(t, self.all_counts)
            for t in controls.piece_tokens(self.plan.mode, meter, self.style)
        ]

    def bar_controls(self, index: int) -> list[str]:
        """The bar header's control tokens: density by quantile (:meth:`density`), register
        and chords from the plan, each the nearest value that is frequent in this style's
        training bars (never a rare one)."""
        bar = self.plan.bars[index]
        wanted = controls.bar_tokens(bar.density, bar.register - self.shift, self.chords(index))
        wanted[0] = self.density(index)[0]
        return [controls.frequent(t, self.counts) for t in wanted]

    # ---- model feeding -----------------------------------------------------------------
    def _feed(self, ids: list[int]) -> torch.Tensor:
        """Run ``ids`` through the model, carrying state; returns the last position's logits."""
        x = torch.tensor([ids], dtype=torch.long)
        logits, self.state = self.model.forward_state(x, self.state)
        self.ids.extend(ids)
        return logits[0, -1]

    def prime(self, primer_ids: list[int] | None = None) -> None:
        """Start the stream: BOS and piece controls, or a primer's tokens (without EOS)."""
        self.state = self.model.init_state(1)
        if primer_ids:
            body = [i for i in primer_ids if i != self.tok.eos_id]
            self._feed(body)
        else:
            self._feed([self.tok.bos_id, *self.tok.ids(self.piece_controls())])

    def _header(self, index: int) -> list[int]:
        return [self.tok.bar_id, *self.tok.ids(self.bar_controls(index)), self.timesig]

    def _sampled_header(self, index: int) -> tuple[list[int], torch.Tensor]:
        """Feed bar ``index``'s header, its density and register tokens chosen by the model
        within :data:`CONTROL_BANDS` of the plan's; returns the header and the logits after
        it. Forced tokens are fed together, up to the next one the model chooses."""
        header: list[int] = []
        pending = [self.tok.bar_id]
        for token in self.bar_controls(index):
            width = CONTROL_BANDS.get(token.partition("_")[0], 0)
            if not width:
                pending.append(self.tok.ids([token])[0])
                continue
            logits = self._feed(pending)
            header += pending
            allowed = torch.zeros_like(logits, dtype=torch.bool)
            allowed[self.tok.ids(controls.band(token, width, self.counts))] = True
            pending = [sample(logits, allowed, self.sampling, self.generator)]
        pending.append(self.timesig)
        return header + pending, self._feed(pending)

    def _sample_body(self, logits: torch.Tensor, rules: BarRules) -> list[int]:
        state = BarState(self.grammar, rules)
        body: list[int] = []
        while True:
            allowed = state.allowed()  # the bar's note cap bounds its length
            bonus = state.bonus()
            if bonus is not None:
                logits = logits + bonus
            token = sample(logits, allowed, self.sampling, self.generator)
            if state.advance(token):
                return body  # Bar_None closes the bar; it opens the next header
            body.append(token)
            logits, self.state = self.model.step(torch.tensor([token]), self.state)
            logits = logits[0]
            self.ids.append(token)

    def sanitize(self, body: list[int], rules: BarRules) -> list[int]:
        """Keep only the notes of ``body`` that meet ``rules`` (scale, range, grid, meter,
        note cap): a copied bar obeys the bar it is copied into."""
        g = self.grammar
        pitch_ok, duration_ok = g.pitch_mask(rules), g.duration_mask(rules)
        out: list[int] = []
        notes = 0
        i = 0
        while i + 2 < len(body):
            pos, pitch, dur = body[i : i + 3]
            if g.id_type[pos] != "Position":
                i += 1  # anything outside the bar grammar is dropped
                continue
            i += 3
            position = int(g.id_value[pos])
            if position >= rules.positions or position % rules.grid or not pitch_ok[pitch]:
                continue
            if notes >= rules.max_notes:
                break
            out += [pos, pitch, dur if duration_ok[dur] else int(torch.nonzero(duration_ok)[0])]
            notes += 1
        return out

    def bars(self, theme: list[list[int]] | None = None) -> Iterator[list[int]]:
        """Yield each bar's body token ids, in order. ``theme`` bars are copied first."""
        if self.state is None:
            self.prime()
        theme = theme or []
        for index in range(len(self.plan.bars)):
            rules = self.rules(index)
            source = self.form[index]
            copied = theme[index] if index < len(theme) else None
            if copied is None and source.copy_of is not None:
                copied = self.bodies[source.copy_of]
            if copied is not None:
                body = self.sanitize(copied, rules)
                self._feed(self._header(index) + body)
            else:
                _, logits = self._sampled_header(index)
                body = self._sample_body(logits, rules)
            self.bodies.append(body)
            yield body


def split_bars(tok: CadenceTokenizer, ids: list[int]) -> list[list[int]]:
    """Bodies of each bar of a token stream (tokens after the bar header, before the next bar)."""
    bars: list[list[int]] = []
    header_types = {*controls.BAR_TYPES, "TimeSig"}
    for i in ids:
        token = tok.id_to_token[int(i)]
        kind = token.split("_", 1)[0]
        if token == "Bar_None":
            bars.append([])
        elif bars and kind not in header_types and kind not in {"EOS", "BOS", "PAD"}:
            bars[-1].append(int(i))
    return bars


def generate(
    model: torch.nn.Module,
    plan: ControlPlan,
    *,
    sampling: SamplingConfig | None = None,
    seed: int = 0,
    style: str | None = None,
    primer_ids: list[int] | None = None,
    primer_mode: str = "continue",
    form: bool = True,
    on_bar: Callable[[int, int], None] | None = None,
    on_partial: Callable[[int, symusic.Score], None] | None = None,
    partial_bars: int = 0,
    int8: bool = True,
) -> GenerationResult:
    """Generate a whole piece for ``plan``.

    primer_ids: token ids of a primer (see ``encode_primer``); ``primer_mode`` "continue" feeds
    it as context and continues, "vary" also makes its opening bars the first theme.
    on_partial: called as ``on_partial(bars_done, score)`` after every ``partial_bars`` bars
    (before the last) with the piece so far, decoded and transposed like the result, so
    rendering can start while the rest is composed; bars already done never change.
    int8: decode with int8 weights where the model family and the CPU support it (about 3.5×
    faster for the LSTM, held-out NLL within 0.1%; see ``cadence.models.int8``).
    """
    if primer_mode not in ("continue", "vary"):
        raise ValueError(f"primer_mode: must be 'continue' or 'vary', got {primer_mode!r}")
    gen = BarGenerator(model, plan, sampling=sampling, seed=seed, style=style, form=form)
    threads = torch.get_num_threads()
    # Batch-1 decoding is latency-bound: one thread avoids OpenMP hand-offs on every token.
    torch.set_num_threads(1)
    try:
        with model.int8_decoding() if int8 else nullcontext(False):  # type: ignore[operator]
            ids, bodies = _run(gen, plan, primer_ids, primer_mode, on_bar, on_partial, partial_bars)
    finally:
        torch.set_num_threads(threads)
    score, undecodable = decode(gen.tok, ids, gen.shift)
    clip_to_bars(score, len(plan.bars) * plan.beats_per_bar)
    copied = sum(1 for s in gen.form if s.copy_of is not None)
    return GenerationResult(
        ids, score, gen.shift, [s.section for s in gen.form], undecodable, copied, bodies
    )


def _run(
    gen: BarGenerator,
    plan: ControlPlan,
    primer_ids: list[int] | None,
    primer_mode: str,
    on_bar: Callable[[int, int], None] | None,
    on_partial: Callable[[int, symusic.Score], None] | None = None,
    partial_bars: int = 0,
) -> tuple[list[int], list[list[int]]]:
    theme = None
    with torch.inference_mode():
        gen.prime(primer_ids)
        if primer_ids and primer_mode == "vary":
            theme = split_bars(gen.tok, primer_ids)[: max(1, len(plan.bars) // 4)]
        start = len(gen.ids)
        for i, _ in enumerate(gen.bars(theme), start=1):
            if on_bar:
                on_bar(i, len(plan.bars))
            if on_partial and partial_bars > 0 and i % partial_bars == 0 and i < len(plan.bars):
                so_far, failed = decode(gen.tok, [*gen.ids[start:], gen.tok.eos_id], gen.shift)
                if not failed:
                    clip_to_bars(so_far, len(plan.bars) * plan.beats_per_bar)
                    on_partial(i, so_far)
    return [*gen.ids[start:], gen.tok.eos_id], gen.bodies


def clip_to_bars(score: symusic.Score, quarters: float) -> None:
    """Shorten notes that would sound past the piece's last bar (the plan fixes its length)."""
    end = round(quarters * score.ticks_per_quarter)
    for track in score.tracks:
        for note in track.notes:
            if note.time + note.duration > end:
                note.duration = max(1, end - note.time)


def decode(tok: CadenceTokenizer, ids: list[int], shift: int) -> tuple[symusic.Score, int]:
    """Decode, make the melody monophonic (a note is cut where the next begins) and
    transpose; returns (score, 1 if decoding failed else 0)."""
    try:
        score = tok.decode(ids)
    except (ValueError, KeyError, IndexError, RuntimeError):
        return symusic.Score(tok.remi.time_division), 1
    for track in score.tracks:
        line = monophonic(track.notes)
        track.notes = symusic.core.NoteTickList(
            [symusic.Note(t, d, p + shift, 100) for t, d, p in line]
        )
    return score, 0
