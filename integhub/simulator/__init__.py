"""A stand-in for Cal.com and Retell.ai: real shapes, real errors, deterministic data, faults on demand.

Used by tests and benchmarks (`SimulatorServer`), and standalone via `python -m integhub simulator`.
"""
from .app import create_app
from .data import SimulatorState
from .server import SimulatorServer, run

__all__ = ["SimulatorServer", "SimulatorState", "create_app", "run"]
