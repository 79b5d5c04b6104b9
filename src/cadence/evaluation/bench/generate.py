"""Decoding speed of the shipped models at batch 1 on CPU, against two baselines.

For each shipped model (LSTM, Transformer), four ways to produce tokens, timed one after the
other in this process with the same thread count, under ``torch.inference_mode``:

- **session path**: :func:`cadence.generation.generator.generate` on a plain plan (4/4,
  80 BPM, 2 notes per beat), bar by bar with forced control tokens and grammar masks, every
  bar sampled (no copied theme bars, which sessions add and which are cheaper), decoded to a
  Score at the end: what a session runs;
- **step loop**: ``model.step`` and :func:`~cadence.generation.sampling.sample` in a plain
  loop, no masks: the model's raw decoding speed, in float32 and, for families that have it,
  also with the int8 weights that ``generate`` decodes with by default
  (``model.int8_decoding()``);
- baseline **GPT-2 generate**: Hugging Face ``GPT2LMHeadModel.generate`` (KV cache) with
  random weights and the same dimensions (see :func:`gpt2_twin`), sampling with the same
  temperature and top-p;
- baseline **naive loop**: the same Cadence model re-run over the whole prefix for every new
  token (no state, no cache), sampling the same way.

Tokens per second count every token of the output stream; real-time factor is seconds of
music per second of compute. The session path gives both directly; for the other three the
real-time factor is their rate divided by the session path's stream tokens per second of
music.
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from cadence.evaluation.bench.common import Comparison, Stopwatch
from cadence.generation.generator import BarGenerator, generate
from cadence.generation.plan import BarControl, ControlPlan
from cadence.generation.sampling import SamplingConfig, sample
from cadence.models.base import CadenceModel
from cadence.models.lstm import LSTMConfig, LSTMModel
from cadence.models.transformer import TransformerConfig

TARGET = 3.0  # ≥ 3× the tokens/s of transformers' generate at batch 1 on CPU (issue 5)
GPT2_BASELINE = "HF transformers GPT-2 generate, same dims, random weights, KV cache"
NAIVE_BASELINE = "naive loop: full forward over the whole prefix per token, no cache"
PLAN_TEMPO = 80.0
PLAN_DENSITY = 2.0
LSTM_HEAD_DIM = 64  # GPT-2's head size, for an LSTM twin (an LSTM has no heads)
LSTM_CONTEXT = 256  # the twin's context for an LSTM (the shipped Transformer's window)


@dataclass(frozen=True)
class GenerateSizes:
    """How much each way decodes per round: ``tokens`` (at most the GPT-2 context minus the
    prompt), ``bars`` for the session path; ``repeats`` interleaved rounds (the naive loop,
    the slowest, runs in the first ``naive_repeats`` only)."""

    tokens: int = 240
    repeats: int = 5
    bars: int = 16
    naive_tokens: int = 240
    naive_repeats: int = 2

    @property
    def steps(self) -> int:
        """Progress steps per model: the warm-up and each round."""
        return 1 + self.repeats


def plan(bars: int) -> ControlPlan:
    """The plain plan the session path follows: C major, 4/4, 80 BPM, 2 notes per beat."""
    bar = BarControl(tempo_bpm=PLAN_TEMPO, density=PLAN_DENSITY, velocity_min=40, velocity_max=90)
    return ControlPlan(bars=(bar,) * bars)


def prompt_ids(model: CadenceModel) -> list[int]:
    """BOS and the piece's control tokens: the prompt every way starts from."""
    tok = model.tokenizer
    assert tok is not None
    return [tok.bos_id, *tok.ids(BarGenerator(model, plan(1)).piece_controls())]


def gpt2_dims(model: CadenceModel) -> dict[str, Any]:
    """GPT-2 dimensions matching ``model``: layers, width, heads, vocabulary, context.

    A Transformer maps one to one (d_ff → n_inner). An LSTM has no heads and no context
    limit: its twin has n_embd = hidden size, 64-dimensional heads (GPT-2's) and a 256-token
    context (the shipped Transformer's window).
    """
    c = model.config
    if isinstance(c, TransformerConfig):
        return {
            "n_layer": c.n_layers, "n_embd": c.d_model, "n_head": c.n_heads,
            "n_inner": c.d_ff, "vocab_size": c.vocab_size, "n_positions": c.max_seq_len,
        }  # fmt: skip
    if isinstance(c, LSTMConfig):
        return {
            "n_layer": c.num_layers, "n_embd": c.hidden_size,
            "n_head": max(1, c.hidden_size // LSTM_HEAD_DIM), "n_inner": 4 * c.hidden_size,
            "vocab_size": c.vocab_size, "n_positions": LSTM_CONTEXT,
        }  # fmt: skip
    raise TypeError(f"no GPT-2 twin for {type(model).__name__}")


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(before)


def gpt2_twin(model: CadenceModel, seed: int = 0) -> torch.nn.Module:
    """A randomly initialised ``GPT2LMHeadModel`` with :func:`gpt2_dims`, in eval mode."""
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = model.tokenizer
    assert tok is not None
    torch.manual_seed(seed)
    with _quiet_transformers():
        config = GPT2Config(
            **gpt2_dims(model),
            bos_token_id=tok.bos_id,
            eos_token_id=tok.eos_id,
            pad_token_id=tok.pad_id,
        )
        return GPT2LMHeadModel(config).eval()


def hf_generate(
    gpt2: torch.nn.Module, prompt: list[int], n: int, sampling: SamplingConfig, seed: int
) -> float:
    """Seconds for ``gpt2.generate`` to sample exactly ``n`` new tokens after ``prompt``."""
    ids = torch.tensor([prompt])
    greedy = sampling.temperature == 0.0
    kwargs: dict[str, Any] = {"do_sample": not greedy}
    if not greedy:
        kwargs |= {
            "temperature": sampling.temperature,
            "top_k": sampling.top_k,
            "top_p": sampling.top_p,
        }
    torch.manual_seed(seed)
    with _quiet_transformers(), torch.inference_mode(), Stopwatch() as sw:
        out = gpt2.generate(  # type: ignore[operator]
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=n,
            min_new_tokens=n,
            use_cache=True,
            **kwargs,
        )
    if out.shape[1] != len(prompt) + n:
        raise RuntimeError(f"GPT-2 generate made {out.shape[1] - len(prompt)} tokens, not {n}")
    return sw.seconds


def step_loop(
    model: CadenceModel, prompt: list[int], n: int, sampling: SamplingConfig, seed: int
) -> float:
    """Seconds to sample ``n`` tokens with ``model.step`` after feeding ``prompt``."""
    gen = torch.Generator().manual_seed(seed)
    allowed = torch.ones(model.config.vocab_size, dtype=torch.bool)  # type: ignore[attr-defined]
    with torch.inference_mode(), Stopwatch() as sw:
        logits, state = model.forward_state(torch.tensor([prompt]), model.init_state(1))
        logits = logits[:, -1]
        for i in range(n):
            token = sample(logits[0], allowed, sampling, gen)
            if i + 1 < n:
                logits, state = model.step(torch.tensor([token]), state)
    return sw.seconds


def naive_loop(
    model: CadenceModel, prompt: list[int], n: int, sampling: SamplingConfig, seed: int
) -> float:
    """Seconds to sample ``n`` tokens re-running ``model`` over the whole prefix each time
    (the last ``max_seq_len`` tokens for a Transformer)."""
    gen = torch.Generator().manual_seed(seed)
    allowed = torch.ones(model.config.vocab_size, dtype=torch.bool)  # type: ignore[attr-defined]
    window = getattr(model.config, "max_seq_len", None)
    ids = list(prompt)
    with torch.inference_mode(), Stopwatch() as sw:
        for _ in range(n):
            context = ids[-window:] if window else ids
            logits = model(torch.tensor([context]))[0, -1]  # [V]
            ids.append(sample(logits, allowed, sampling, gen))
    return sw.seconds


def session_path(model: CadenceModel, bars: int, seed: int) -> dict[str, float]:
    """Time :func:`generate` for ``bars`` bars of :func:`plan`; every bar is sampled."""
    p = plan(bars)
    with Stopwatch() as sw:
        result = generate(model, p, seed=seed, form=False)
    stream = len(result.ids) - 1  # the closing EOS is appended, not generated
    sampled = sum(len(b) for b in result.bar_tokens) + bars  # bodies and their closing Bar
    music_s = bars * p.beats_per_bar * 60.0 / PLAN_TEMPO
    return {
        "seconds": sw.seconds,
        "tokens": stream,
        "sampled_tokens": sampled,
        "music_s": music_s,
        "tokens_per_s": stream / sw.seconds,
        "sampled_tokens_per_s": sampled / sw.seconds,
        "real_time_factor": music_s / sw.seconds,
        "tokens_per_music_s": stream / music_s,
    }


def best_of(seconds: list[float], tokens: int) -> dict[str, float]:
    """Figures of one way over its rounds: the best (fastest) round, and the median."""
    best, median = min(seconds), statistics.median(seconds)
    return {
        "tokens": tokens,
        "rounds": len(seconds),
        "seconds": best,
        "tokens_per_s": tokens / best,
        "tokens_per_s_median": tokens / median,
    }


def bench_model(
    name: str,
    model: CadenceModel,
    sizes: GenerateSizes,
    sampling: SamplingConfig,
    on_step: Callable[[str], None],
) -> tuple[dict[str, Any], list[Comparison]]:
    """All four ways for one model, in ``sizes.repeats`` interleaved rounds (each way once
    per round, the same work every round), so that load from other processes falls on all
    of them alike; each way keeps its best round. ``on_step`` is told what runs next."""
    model.eval()
    prompt = prompt_ids(model)
    gpt2 = gpt2_twin(model)
    context = gpt2_dims(model)["n_positions"]
    n = min(sizes.tokens, context - len(prompt))
    naive_n = min(sizes.naive_tokens, context - len(prompt))
    on_step(f"{name}: warm-up")  # first calls allocate and pick kernels
    session_path(model, 1, seed=0)
    step_loop(model, prompt, 8, sampling, 0)
    naive_loop(model, prompt, 2, sampling, 0)
    hf_generate(gpt2, prompt, 8, sampling, 0)

    with model.int8_decoding() as int8:  # what generate() decodes with by default
        if int8:
            step_loop(model, prompt, 8, sampling, 0)
    sessions: list[dict[str, float]] = []
    seconds: dict[str, list[float]] = {
        "step_loop": [], "step_loop_int8": [], "gpt2_generate": [], "naive_loop": [],
    }  # fmt: skip
    for r in range(sizes.repeats):
        on_step(f"{name}: round {r + 1}/{sizes.repeats}")
        sessions.append(session_path(model, sizes.bars, seed=0))
        seconds["step_loop"].append(step_loop(model, prompt, n, sampling, 0))
        if int8:
            with model.int8_decoding():
                seconds["step_loop_int8"].append(step_loop(model, prompt, n, sampling, 0))
        seconds["gpt2_generate"].append(hf_generate(gpt2, prompt, n, sampling, 0))
        if r < sizes.naive_repeats:
            seconds["naive_loop"].append(naive_loop(model, prompt, naive_n, sampling, 0))
    session = min(sessions, key=lambda f: f["seconds"]) | {
        "rounds": len(sessions),
        "tokens_per_s_median": statistics.median(f["tokens_per_s"] for f in sessions),
    }
    session["int8"] = int8
    step = best_of(seconds["step_loop"], n)
    step_int8 = best_of(seconds["step_loop_int8"], n) if int8 else None
    hf = best_of(seconds["gpt2_generate"], n)
    naive = best_of(seconds["naive_loop"], naive_n)
    per_music_s = session["tokens_per_music_s"]
    for way in (step, step_int8, hf, naive):
        if way is not None:
            way["real_time_factor"] = way["tokens_per_s"] / per_music_s
    figures: dict[str, Any] = {
        "parameters": model.num_parameters(),
        "gpt2_dims": gpt2_dims(model),
        "gpt2_parameters": sum(p.numel() for p in gpt2.parameters()),
        "prompt_tokens": len(prompt),
        "sampling": {
            "temperature": sampling.temperature,
            "top_k": sampling.top_k,
            "top_p": sampling.top_p,
        },
        "session_path": session,
        "step_loop": step,
        "step_loop_int8": step_int8,
        "gpt2_generate": hf,
        "naive_loop": naive,
    }
    label = "LSTM" if isinstance(model, LSTMModel) else "Transformer"
    session_rate, hf_rate = session["tokens_per_s"], hf["tokens_per_s"]
    precision = "int8 weights" if int8 else "float32"
    gpt2_base: dict[str, Any] = {"baseline_what": GPT2_BASELINE, "baseline_name": "GPT-2 generate"}
    naive_base: dict[str, Any] = {"baseline_what": NAIVE_BASELINE, "baseline_name": "naive loop"}
    rows = [
        Comparison(f"generate.{name}.session_vs_gpt2",
                   f"{label}: tokens/s, session path ({precision})",
                   session_rate, hf_rate, "tokens/s", target=TARGET, **gpt2_base),
        Comparison(f"generate.{name}.step_vs_gpt2", f"{label}: tokens/s, step loop (float32)",
                   step["tokens_per_s"], hf_rate, "tokens/s", target=TARGET, **gpt2_base),
    ]  # fmt: skip
    if step_int8 is not None:
        rows.append(
            Comparison(f"generate.{name}.step_int8_vs_gpt2",
                       f"{label}: tokens/s, step loop (int8 weights)", step_int8["tokens_per_s"],
                       hf_rate, "tokens/s", target=TARGET, **gpt2_base)
        )  # fmt: skip
    rows += [
        Comparison(f"generate.{name}.session_vs_naive",
                   f"{label}: tokens/s, session path ({precision})",
                   session_rate, naive["tokens_per_s"], "tokens/s", **naive_base),
        Comparison(f"generate.{name}.rtf_vs_gpt2",
                   f"{label}: real-time factor, session path ({precision})",
                   session["real_time_factor"], hf["real_time_factor"], "× real time",
                   **gpt2_base),
    ]  # fmt: skip
    return figures, rows
