"""An example structrep plugin: ``sparse-ae``, an autoencoder whose codes pay an L1 penalty.

Importing this module registers the method; structrep imports it through the ``structrep.plugins`` entry
point in ``pyproject.toml`` and adds the ``config/`` folder beside it to the config tree.
"""
from .method import SparseAutoencoder  # noqa: F401  (registers method/sparse-ae)
