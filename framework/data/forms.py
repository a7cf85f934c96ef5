"""Batch forms: what a method trains on when it is not single observations (a plugin's sequences, say).

A method declares ``batch_form`` (``'images'`` by default: single observations, vectors included). A plugin whose
method needs another form registers it: how a dataset (or one split of it) becomes that form, and the top-level
config node that holds its options::

    register_batch_form(BatchForm('sequences', config_key='sequence', wrap=as_sequences,
                                  options=sequence_options, help='sequence.length, ...'))

The scripts wrap the configured dataset with ``in_form``; the strict config check reads the node's keys from
``options()``. The core knows no form but single observations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import ConfigError

IMAGES = 'images'


@dataclass(frozen=True)
class BatchForm:
    """A form of training data: ``wrap(dataset, **options)`` gives the dataset in that form."""
    name: str
    config_key: str                     # the top-level node of options (``sequence:``)
    wrap: Callable
    options: Callable[[], set]          # the keys that node may hold
    help: str = ''


_forms: dict[str, BatchForm] = {}


def register_batch_form(form: BatchForm) -> None:
    """Make ``batch_form = form.name`` available to methods (a plugin calls this when it is imported)."""
    existing = _forms.get(form.name)
    if existing is not None and existing.wrap is not form.wrap:
        raise ConfigError(f'Batch form {form.name!r} is registered twice; rename one of them.')
    _forms[form.name] = form


def forms() -> list[BatchForm]:
    """The registered forms (the plugins loaded first, so the list is complete)."""
    from .. import registry
    registry.names('method')            # loads the plugins
    return list(_forms.values())


def in_form(dataset, method_class, options_at: Callable[[str], dict | None]):
    """``dataset`` in the form ``method_class.batch_form`` trains on (unchanged for single observations);
    ``options_at(config_key)`` gives the form's options node from the config."""
    name = getattr(method_class, 'batch_form', IMAGES)
    if name == IMAGES:
        return dataset
    form = next((f for f in forms() if f.name == name), None)
    if form is None:
        known = ', '.join([IMAGES, *(f.name for f in forms())])
        raise ConfigError(f'{method_class.__name__} trains on {name!r} batches, which no plugin provides '
                          f'(known forms: {known}).')
    return form.wrap(dataset, **(options_at(form.config_key) or {}))
