"""Allow `python -m cadence` (and `torchrun -m cadence`)."""

from cadence.cli import main

main()
