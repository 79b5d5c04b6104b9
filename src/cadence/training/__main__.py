"""``python -m cadence.training --config FILE --data DIR --out DIR [--resume]``.

Runs training without the main CLI, so that torchrun can start it directly::

    torchrun --standalone --nproc_per_node=2 -m cadence.training --config configs/tiny.toml \\
        --data out/dataset --out out/model
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from cadence.errors import CadenceError
from cadence.training.trainer import train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cadence.training", description=__doc__)
    parser.add_argument("--config", required=True, help="TOML file or shipped name (tiny, ...)")
    parser.add_argument("--data", required=True, help="dataset folder from `cadence ingest`")
    parser.add_argument("--out", required=True, help="output folder for checkpoints and logs")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last")
    parser.add_argument("--init-from", default=None, help="checkpoint folder to fine-tune")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        result = train(
            args.config, args.data, args.out, resume=args.resume, init_from=args.init_from
        )
    except CadenceError as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; resume with --resume\n")
        return 130
    sys.stdout.write(json.dumps(result.to_dict()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
