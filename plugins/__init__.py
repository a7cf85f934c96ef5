"""Plugins: one package per published method. Each registers its components when imported.

Every sub-package here is imported automatically; a plugin's ``config/`` folder joins the config path.
"""
import importlib
import pkgutil

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
    if _info.ispkg:
        importlib.import_module(f'{__name__}.{_info.name}')
