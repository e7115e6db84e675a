"""Seeded simulator of card transactions, fraud episodes, chargebacks and drift.

Writes the landing files the pipeline ingests and the ground truth it never reads.
"""

from ml_platform.lib.simulation.config import SCENARIOS, SimulationConfig
from ml_platform.lib.simulation.metrics import roc_auc
from ml_platform.lib.simulation.simulator import simulate
from ml_platform.lib.simulation.summary import SimulationSummary

__all__ = ["SCENARIOS", "SimulationConfig", "SimulationSummary", "roc_auc", "simulate"]
