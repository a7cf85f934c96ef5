"""The command-line scripts of the core: train, eval, eval-metrics, list, show, download-dataset."""
from . import common, train, eval, eval_metrics, list_components, show, download_dataset, sweep, results, reproduce  # noqa: F401
