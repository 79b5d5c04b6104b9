"""Turn a patient's favourite tune into primer tokens for generation.

The tune is normalised as training data is (track roles, transposition to C major / A minor)
and its melody tokenized with control tokens, so the model hears it the way it learned music.
"""

from __future__ import annotations

import symusic

from cadence.tokens.normalize import normalize
from cadence.tokens.tokenizer import CadenceTokenizer

MAX_PRIMER_BARS = 32  # the opening is what a listener recognises; more adds little


def encode_primer(tokenizer: CadenceTokenizer, score: symusic.Score) -> list[int]:
    """Token ids of the primer's first bars, in the generation key, without EOS."""
    score = normalize(score).score
    ids = tokenizer.encode_piece(score)
    out: list[int] = []
    bars = 0
    for i in ids.tolist():
        if i == tokenizer.bar_id:
            bars += 1
            if bars > MAX_PRIMER_BARS:
                break
        if i != tokenizer.eos_id:
            out.append(i)
    return out
