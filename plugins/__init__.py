"""This repository's plugins: one package per published method, each registering its components when imported.

They are declared in ``.fig.project.yml`` (``plugins:``) and as ``structrep.plugins`` entry points in
``pyproject.toml``; ``framework.plugins`` finds and imports them, and a plugin's ``config/`` folder joins the
config tree. Importing this package loads every selected plugin (``STRUCTREP_PLUGINS=msp,sae`` limits them),
as ``fig`` does.
"""
from framework.plugins import load_all, selected  # noqa: F401  (``selected`` kept for older imports)

load_all()
