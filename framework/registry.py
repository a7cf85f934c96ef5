"""One registry for every component kind: datasets, encoders, decoders, methods, metrics and scripts.

Components register where they are defined, with one decorator per kind::

    @register.encoder('conv12')
    class Conv12Encoder(nn.Module): ...

A config then selects it with ``_type: encoder/conv12`` and ``framework.create('encoder', 'conv12', ...)``
builds it from Python. This module keeps its own index (so that listing, duplicate detection and
"did you mean" errors do not depend on omnifig's internals); ``framework.config`` hands the index to
omnifig when the project is activated.
"""
from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ConfigError, FrameworkError

KINDS = ('dataset', 'encoder', 'decoder', 'method', 'metric', 'script')


@dataclass(frozen=True)
class Entry:
    """A registered component: what it is, where it lives and its one-line description."""
    kind: str
    name: str
    obj: Any
    description: str
    module: str
    settings: tuple = ()       # scripts: the settings dataclasses whose fields are its top-level config keys
    needs: tuple = ()          # metrics: what the metric needs from the dataset and the method (metrics/common.py)
    positional: str = ''       # scripts: the setting that the words after the script name fill (`fig list encoder`)
    positional_many: bool = False   # scripts: every word, as one comma list (`fig results SWEEP RUN ...`)

    @property
    def type_name(self) -> str:
        """The ``_type`` value that selects this component in a config (``encoder/conv12``)."""
        return f'{self.kind}/{self.name}'


class UnknownComponentError(FrameworkError, KeyError):
    """An unregistered name: the message lists the known names of that kind and the closest match."""

    def __init__(self, kind: str, name: str):
        self.kind, self.name = kind, name
        known = names(kind) if kind in KINDS else list(KINDS)
        what = kind if kind in KINDS else 'component kind'
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ''
        listing = ', '.join(known) if known else '(none registered)'
        describe = f'`fig list {kind}` describes them' if kind in KINDS else '`fig list` lists every component'
        self.message = f'Unknown {what} {name!r}.{hint} Known {what}s: {listing}. ({describe}.)'
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class DuplicateRegistrationError(ConfigError):
    """Two components claim the same kind and name; silently replacing one would change experiments."""


_index: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
_listeners: list[Callable[[Entry], None]] = []
_components = {'ready': False, 'loaded': False}   # the core's and the plugins' modules load on the first lookup

# the core's modules whose components register themselves on import (torch comes with them)
CORE_MODULES = ('framework.nn', 'framework.data', 'framework.methods', 'framework.metrics', 'framework.scripts')


def enable_plugins() -> None:
    """Called at the end of ``import framework``: from now on a lookup first imports the core's component modules
    and the plugins (``framework/plugins.py``), so the registry is complete wherever the lookup comes from, and
    ``import framework`` itself stays quick (torch is imported by the first lookup, not by the import)."""
    _components['ready'] = True


def _load_components() -> None:
    if _components['ready'] and not _components['loaded']:
        _components['loaded'] = True
        import importlib
        for module in CORE_MODULES:
            importlib.import_module(module)
        from . import plugins
        plugins.load_all()


def add(kind: str, name: str, obj: Any, description: str | None = None, settings: tuple | type = (),
        needs: tuple = (), positional: str = '', positional_many: bool = False) -> Entry:
    """Register ``obj`` under ``kind/name``; the decorators in ``register`` call this.

    A script declares the dataclasses it reads its top-level keys from (``settings=EvalSettings``), so that
    ``-h`` can list them and a misspelt key can be caught before anything runs.
    A metric declares what it needs besides ``represent`` (``needs=('discrete_factors', 'decode')``, the names in
    ``framework.metrics.common``), so that a suite can hand it those and skip it, with the reason, where they lack.
    A script whose first word is a value rather than a config name declares the setting it fills
    (``positional='kind'``: ``fig list encoder`` is ``fig list --kind encoder``; ``positional_many``: all the words).
    """
    if kind not in KINDS:
        raise UnknownComponentError('kind', kind)
    if description is None:
        description = first_line(obj.__doc__)
    settings = settings if isinstance(settings, tuple) else (settings,)
    entry = Entry(kind, name, obj, description, getattr(obj, '__module__', '?'), settings, tuple(needs), positional,
                  positional_many)
    existing = _index[kind].get(name)
    if existing is not None:
        if _same_definition(existing.obj, obj):
            return existing     # the same module imported twice (e.g. by its file path): keep the first
        raise DuplicateRegistrationError(
            f'{kind} {name!r} is registered twice: by {existing.module}.{_qualname(existing.obj)} and by '
            f'{entry.module}.{_qualname(obj)}. Rename one of them.')
    _index[kind][name] = entry
    for listener in _listeners:
        listener(entry)
    return entry


def get(kind: str, name: str) -> Entry:
    """The entry registered as ``kind/name``, or an error naming the known ones."""
    if kind not in KINDS:
        raise UnknownComponentError('kind', kind)
    if name not in _index[kind]:
        _load_components()
    try:
        return _index[kind][name]
    except KeyError:
        raise UnknownComponentError(kind, name) from None


def names(kind: str) -> list[str]:
    """Sorted names registered under ``kind``, the plugins' included."""
    _load_components()
    return sorted(_index[kind])


def entries(kind: str | None = None) -> list[Entry]:
    """Entries of one kind, or of every kind, in a stable order."""
    kinds = KINDS if kind is None else (kind,)
    _load_components()
    return [_index[k][n] for k in kinds for n in sorted(_index[k])]


def on_register(listener: Callable[[Entry], None]) -> None:
    """Call ``listener`` with every entry, the existing ones first (how the config layer mirrors us)."""
    _listeners.append(listener)
    for entry in entries():
        listener(entry)


def split_type(type_name: str) -> tuple[str, str]:
    """``'encoder/conv12'`` -> ``('encoder', 'conv12')``, with a clear error for a malformed value."""
    kind, sep, name = str(type_name).partition('/')
    if not sep or kind not in KINDS:
        raise UnknownComponentError('kind', kind if sep else str(type_name))
    return kind, name


class _Register:
    """``register.<kind>(name)`` decorators, one per kind (``register.dataset('vec')``, ...)."""

    def __getattr__(self, kind: str) -> Callable[..., Callable]:
        if kind not in KINDS:
            raise AttributeError(f'no component kind {kind!r}; kinds are {", ".join(KINDS)}')

        def decorator_for(name: str, description: str | None = None, settings: tuple | type = (),
                          needs: tuple = (), positional: str = '', positional_many: bool = False) -> Callable:
            def decorate(obj):
                add(kind, name, obj, description, settings, needs, positional, positional_many)
                return obj
            return decorate
        return decorator_for


register = _Register()


def first_line(doc: str | None) -> str:
    """The first non-empty line of a docstring."""
    for line in (doc or '').strip().splitlines():
        if line.strip():
            return line.strip()
    return ''


def _qualname(obj: Any) -> str:
    return getattr(obj, '__qualname__', type(obj).__name__)


def _same_definition(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return (a.__module__, a.__qualname__, inspect.getsourcefile(a)) == \
            (b.__module__, b.__qualname__, inspect.getsourcefile(b))
    except (AttributeError, TypeError):
        return False
