"""Plugins: one package per published method. Each registers its components when imported.

Every sub-package here is imported automatically; a plugin's ``config/`` folder joins the config path.
``STRUCTREP_PLUGINS=msp,sae`` imports only those (``none`` imports none), e.g. to isolate a broken plugin.
"""
import importlib
import os
import pkgutil


def selected(name: str) -> bool:
    choice = os.environ.get('STRUCTREP_PLUGINS')
    if choice is None:
        return True
    return name in {part.strip() for part in choice.split(',')}


for _info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
    if _info.ispkg and selected(_info.name):
        importlib.import_module(f'{__name__}.{_info.name}')
