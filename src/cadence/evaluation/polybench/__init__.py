"""The polyphonic piano-roll benchmarks (JSB Chorales, Nottingham, MuseData, Piano-midi.de).

``run(dataset, model)`` trains a model and scores it under the published protocol;
``format_table(rows)`` sets the measured figures beside the published ones.
"""

from cadence.evaluation.polybench.config import PolyConfig, default_config, load_config
from cadence.evaluation.polybench.data import DATASETS, load_dataset, load_split
from cadence.evaluation.polybench.models import PianoRollRNN
from cadence.evaluation.polybench.protocol import Score, bernoulli_frame_nll, score
from cadence.evaluation.polybench.run import PUBLISHED, format_table, run

__all__ = [
    "DATASETS",
    "PUBLISHED",
    "PianoRollRNN",
    "PolyConfig",
    "Score",
    "bernoulli_frame_nll",
    "default_config",
    "format_table",
    "load_config",
    "load_dataset",
    "load_split",
    "run",
    "score",
]
