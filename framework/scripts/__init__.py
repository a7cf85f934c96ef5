"""The command-line scripts of the core: train, eval, eval-metrics, list, show, download-dataset."""
import importlib

from . import common, train, eval, list_components, show  # noqa: F401

for _optional in ('eval_metrics', 'download_dataset'):          # written alongside their subsystems
    try:
        importlib.import_module(f'{__name__}.{_optional}')
    except ModuleNotFoundError as _exc:
        if _exc.name != f'{__name__}.{_optional}':
            raise
