"""Cadence: therapeutic music generation under a measurable prescription."""

__version__ = "0.1.0"
