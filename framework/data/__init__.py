"""Datasets: the ground-truth contract, batching by index, procedural and published-format datasets."""
from .base import GroundTruthDataset, InMemoryDataset, Subset, split_dataset  # noqa: F401
from .batches import BatchStream  # noqa: F401
from . import vec  # noqa: F401
from . import dsprites, shapes3d, mpi3d, smallnorb, cars3d, celeba, mnist  # noqa: F401,E402
from . import sprites, shapes3d_synth  # noqa: F401,E402
from .forms import BatchForm, register_batch_form  # noqa: F401,E402
