"""Strict configs: every key must be read by something, and every value must fit, before anything runs.

omnifig reads a key only when some code pulls it, so a misspelt key (``--stpes 100``) would be silently ignored
and saved in the run's ``config.yaml``. ``check_config`` refuses it first, naming the closest known key. The keys
that are read:

- in a node with ``_type``: its component's constructor arguments (``fig list``; a constructor with ``**kwargs``
  accepts any key), plus ``_type``;
- anywhere: the constructor arguments of every component below the node, because omnifig looks a missing key
  up in the enclosing nodes (``act: mish`` at the top reaches the encoder), and any key named by a reference
  value (``<>latent_dim``);
- at the top: the running script's settings dataclasses (``framework/settings.py``), the keys every script may
  read (``COMMON_KEYS``) and the framework's own (``FRAMEWORK_KEYS``: dataset, method, split, ...).

Keys that come only from a loaded run's saved ``config.yaml`` (``--load RUN``) are not checked: an older run may
carry keys that are no longer read, and they are ignored as before. A script that declares no settings yet has
its components checked, and unknown top-level keys from the command line reported as warnings.
"""
from __future__ import annotations

import difflib
import functools
import inspect
from typing import Any

from .. import registry
from ..data.forms import forms
from ..errors import ConfigError
from .build import is_builder, missing_component_message
from .provenance import COMMAND_LINE, is_run_config, origin

# Top-level keys that the framework reads for any script that builds a run (framework/scripts/common.py).
FRAMEWORK_KEYS = {
    'dataset': 'the dataset component (d/... configs; `fig list dataset`)',
    'method': 'the method component (m/... configs; `fig list method`)',
    'encoder': 'the encoder component (a/e/... or a/... configs; `fig list encoder`)',
    'decoder': 'the decoder component (a/d/... or a/... configs; `fig list decoder`)',
    'split': 'train/val/test fractions and seed of the dataset split: split.val, split.test, split.seed',
    'observation_shape': "the shape of one observation (recorded from the dataset; not set by hand)",
    'dataset_tag': "the dataset's name in run names and metric suites",
    'method_tag': "the method's name in run names",
}


def framework_keys() -> dict[str, str]:
    """``FRAMEWORK_KEYS`` and the option nodes of the registered batch forms (a plugin's ``sequence:``)."""
    return {**FRAMEWORK_KEYS, **{form.config_key: form.help for form in forms()}}


META_PREFIX = '_'          # _type, _base, _meta, _mod: omnifig's own keys, read by omnifig itself
_REFERENCE_PREFIXES = ('<>', '<o>', '<!>')


def check_config(cfg, script_name: str) -> list[str]:
    """Refuse unknown keys and bad values of ``cfg`` for ``script_name``; return warnings to print.

    Raises ``ConfigError`` with one paragraph that names every unknown key, where it came from, and the closest
    known key; or the first value that does not fit its declared type or limits.
    """
    from ..settings import AnyKeys
    from .effective import effective_config
    from .shadowing import check_shadowing
    entry = registry.get('script', script_name)
    if AnyKeys in entry.settings:
        return []
    data = cfg.to_dict()
    checker = _Checker(data, entry, cfg.sources)
    top_level = checker.top_level_keys(data)
    check_shadowing(cfg, top_level, lambda type_name: component_keys(type_name)[0], strict=bool(entry.settings))
    checker.walk(data, (), top_level, strict=bool(entry.settings))
    checker.raise_unknown(script_name)
    checker.check_builders(data, [])
    effective_config(cfg, entry.settings)       # every value checked, settings and component arguments alike
    return checker.warnings(script_name)


def component_keys(type_name: str) -> tuple[frozenset[str], bool]:
    """(constructor argument names, accepts any key) of the component ``type_name``."""
    return _signature_keys(registry.get(*registry.split_type(type_name)).obj)


@functools.lru_cache(maxsize=None)
def _signature_keys(obj) -> tuple[frozenset[str], bool]:
    params = inspect.signature(obj).parameters.values()
    names = frozenset(p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


class _Checker:
    def __init__(self, data: dict, entry: registry.Entry, sources):
        self.entry, self.sources = entry, sources
        self.references = set()
        for _, raw in sources:                  # references are resolved when composing; the files still hold them
            _collect_references(raw, self.references)
        self.unknown: list[tuple[tuple, list[str]]] = []
        self.loose: list[tuple[tuple, list[str]]] = []        # top-level keys of a script without settings

    # ----------------------------------------------------------------- what is known where

    def top_level_keys(self, data: dict) -> set[str]:
        from ..settings import COMMON_KEYS
        known = set(COMMON_KEYS) | set(framework_keys())
        for cls in self.entry.settings:
            known |= {spec.name for spec in _fields(cls)}
        return known

    def nested_schema(self, path: tuple) -> set[str] | None:
        """Known keys of a node without ``_type`` that a script or the framework reads as settings."""
        if len(path) != 1:
            return None
        for cls in self.entry.settings:
            for spec in _fields(cls):
                if spec.name == path[0] and spec.nested is not None:
                    return {s.name for s in _fields(spec.nested)}
        if path[0] == 'split':
            from ..settings import SplitSettings
            return {s.name for s in _fields(SplitSettings)}
        for form in forms():
            if path[0] == form.config_key:
                return set(form.options())
        return None

    # ----------------------------------------------------------------- the walk

    def walk(self, node: dict, path: tuple, own: set[str] | None, strict: bool = True) -> None:
        """Record the keys of ``node`` not in ``own`` (None: any key) and walk the nodes below it."""
        if own is not None:
            own = own | _components_below(node) | self.references
        for key, value in node.items():
            key = str(key)
            if key.startswith(META_PREFIX):
                continue
            here = path + (key,)
            if own is not None and key not in own and not self._excused(node, path, key):
                if strict:
                    self.unknown.append((here, sorted(own)))
                elif origin(self.sources, here) == COMMAND_LINE:      # files may hold the script's own keys
                    self.loose.append((here, sorted(own)))
            self._walk_value(value, here)

    def _excused(self, node: dict, path: tuple, key: str) -> bool:
        """Keys that are not read but not mistakes either.

        A run's saved config.yaml may hold keys an older version read. And a file may offer an option to whichever
        component another file chooses (d/vec sets ``decoder.hidden`` for the MLP decoders; a/msp-resnet's
        ``encoder.k`` stays behind when an earlier a/e/conv12 wins): such a key is excused when another component
        of the same kind takes it and the node's ``_type`` comes from another source. From the command line, or
        beside the ``_type`` it belongs to, an unread key is always an error.
        """
        label = origin(self.sources, path + (key,))
        if label is not None and is_run_config(label):
            return True
        if label in (None, COMMAND_LINE) or not node.get('_type'):
            return False
        chosen_by = origin(self.sources, path + ('_type',))
        kind = registry.split_type(node['_type'])[0]
        return chosen_by != label and kind in _kinds_reading(key)

    def _walk_value(self, value: Any, path: tuple) -> None:
        if isinstance(value, dict):
            if value.get('_type'):
                keys, open_ended = component_keys(value['_type'])
                self.walk(value, path, None if open_ended else keys)
            elif (schema := self.nested_schema(path)) is not None:
                self.walk(value, path, schema)
            else:
                self.walk(value, path, None)        # a dict-valued argument: only its components are checked
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self._walk_value(item, path + (str(i),))

    # ----------------------------------------------------------------- reports

    def raise_unknown(self, script_name: str) -> None:
        if not self.unknown:
            return
        parts = [self._describe(path, known) for path, known in self.unknown]
        noun = 'key' if len(parts) == 1 else 'keys'
        listing = '; '.join(parts)
        stop = '' if listing.endswith('?') else '.'
        raise ConfigError(
            f'Unknown config {noun} {listing}{stop} Nothing was run: a key that nothing reads would be '
            f'ignored silently. `fig {script_name} -h` lists the script\'s keys; a component\'s keys are its '
            f'constructor arguments (`fig list <kind>`), and `fig show <configs>` prints the composed config.')

    def warnings(self, script_name: str) -> list[str]:
        if not self.loose:
            return []
        parts = [self._describe(path, known) for path, known in self.loose]
        return [f'{script_name} does not declare its settings, so its top-level keys are not checked; '
                f'nothing else reads {"; ".join(parts)}. Check the spelling if the script ignores it.']

    def _describe(self, path: tuple, known: list[str]) -> str:
        dotted = '.'.join(path)
        label = origin(self.sources, path)
        where = f' (from {label})' if label else ''
        close = difflib.get_close_matches(path[-1], known, n=3, cutoff=0.6)
        prefix = '.'.join(path[:-1]) + '.' if len(path) > 1 else ''
        if close:
            return f'`{dotted}`{where}: did you mean {" or ".join(f"`{prefix}{c}`" for c in close)}?'
        readers = _kinds_reading(path[-1])
        if readers:
            from .project import configs_providing
            example = next(iter(configs_providing(readers[-1])), None)
            missing = f'; is a config such as {example} missing?' if example else ''
            return (f'`{dotted}`{where} is an argument of {_or(readers)} components, and the config has none '
                    f'that takes it{missing}')
        return f'`{dotted}`{where}'

    def check_builders(self, node: Any, ancestors: list[dict]) -> None:
        """A component that builds a sub-component (``encoder: Builder``) must find one with a ``_type``."""
        if isinstance(node, list):
            for item in node:
                self.check_builders(item, ancestors)
            return
        if not isinstance(node, dict):
            return
        if node.get('_type'):
            entry = registry.get(*registry.split_type(node['_type']))
            for p in inspect.signature(entry.obj).parameters.values():
                if not is_builder(p):
                    continue
                found = next((n[p.name] for n in [node] + ancestors[::-1] if p.name in n), None)
                where = f'component {node["_type"]!r}'
                if found is None and p.default is p.empty:
                    raise ConfigError(missing_component_message(where, p.name))
                if isinstance(found, dict) and not found.get('_type'):
                    raise ConfigError(missing_component_message(where, p.name, untyped=True))
        for key, value in node.items():
            if not str(key).startswith(META_PREFIX):
                self.check_builders(value, ancestors + [node])


def _fields(cls):
    from ..settings import fields_of
    return fields_of(cls)


def _components_below(node: Any) -> set[str]:
    """Constructor arguments of every component in ``node`` and below (they look missing keys up here)."""
    found: set[str] = set()
    if isinstance(node, dict):
        if node.get('_type'):
            found |= component_keys(node['_type'])[0]
        for key, value in node.items():
            if not str(key).startswith(META_PREFIX):
                found |= _components_below(value)
    elif isinstance(node, list):
        for item in node:
            found |= _components_below(item)
    return found


def _collect_references(node: Any, out: set[str]) -> None:
    """``<>latent_dim`` and ``<o>..encoder`` read ``latent_dim`` and ``encoder`` by reference."""
    if isinstance(node, dict):
        for value in node.values():
            _collect_references(value, out)
    elif isinstance(node, list):
        for value in node:
            _collect_references(value, out)
    elif isinstance(node, str):
        for prefix in _REFERENCE_PREFIXES:
            if node.startswith(prefix):
                parts = [p for p in node[len(prefix):].split('.') if p]
                if parts:
                    out.add(parts[0])
                break


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ', '.join(words[:-1]) + ' or ' + words[-1]


def _kinds_reading(key: str) -> list[str]:
    """The component kinds with a constructor argument ``key`` (in registry order)."""
    entries = [e for e in registry.entries() if e.kind not in ('script', 'metric')]
    return _argument_index(tuple((e.kind, e.obj) for e in entries)).get(key, [])


@functools.lru_cache(maxsize=4)
def _argument_index(components: tuple) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for kind, obj in components:
        try:
            names = _signature_keys(obj)[0]
        except (TypeError, ValueError):
            continue
        for name in names:
            if kind not in index.setdefault(name, []):
                index[name].append(kind)
    return index
