"""Datasets: the ground-truth contract, batching by index, procedural and published-format datasets."""
from .base import GroundTruthDataset, InMemoryDataset, Subset, split_dataset  # noqa: F401
from .batches import BatchStream  # noqa: F401
from . import vec  # noqa: F401
