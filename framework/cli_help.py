"""The text of ``fig``, ``fig -h`` and ``fig <script> -h``: scripts, config folders, a script's keys, examples."""
from __future__ import annotations

import dataclasses
import inspect
import textwrap

from . import registry

COMPOSING = """\
How configs compose: `fig train hybrid a/e/conv12 a/d/conv12 m/vae d/vec --reg-wt 4` stacks config files
(config/<name>.yaml or plugins/<plugin>/config/<name>.yaml). A file listed earlier wins over a later one, a
file's `_base:` ranks just below it, and `--key value` (`--a.b value` inside a node; `--a-b` means `--a_b`)
wins over every file. `--load RUN` adds a run's saved config.yaml below all of them. A key that nothing reads
is an error; `fig show <configs>` prints the composed config and the file each value came from."""

EXAMPLES = """\
Examples:
  fig train demo                                          a small VAE on toy data, about a minute on a CPU
  fig train hybrid a/e/conv12 a/d/conv12 m/vae d/vec --reg-wt 4 --steps 200
  fig train -h                                            the keys of `train`
  fig show hybrid a/conv12 m/ae d/vec                     the composed config, with sources
  fig list method                                         registered methods (also dataset, encoder, ...)
  fig eval --load RUN --mode test                         score a trained run"""

_FOLDERS = {'': 'whole setups and add-ons', 'a': 'encoder + decoder pairs', 'a/e': 'encoders', 'a/d': 'decoders',
            'm': 'methods', 'd': 'datasets', 'eval': 'metric suites'}
_WIDTH = 110


def usage(project) -> str:
    """``fig`` and ``fig -h``: how to call, the scripts, the config folders and examples."""
    from .config import config_names
    lines = ['Usage: fig <script> [configs...] [--key value ...]',
             '       (python main.py ... and python -m framework ... do the same from any directory)', '',
             'Scripts (`fig <script> -h` lists the keys of one):']
    scripts = registry.entries('script')
    width = max(len(e.name) for e in scripts)
    lines += [f'  {e.name:<{width}}  {e.description}' for e in scripts]
    lines += ['', 'Configs, by folder (a name is the path without .yaml, e.g. a/e/conv12):']
    folders: dict[str, list[str]] = {}
    for name in config_names(project):
        folder, _, leaf = name.rpartition('/')
        folders.setdefault(folder, []).append(leaf)
    width = max(len(f or '.') for f in folders) + 1
    for folder in sorted(folders, key=lambda f: (f.split('/')[0], f)):
        title = _FOLDERS.get(folder)
        text = (f'{title}: ' if title else '') + '  '.join(folders[folder])
        lines += textwrap.wrap(text, _WIDTH, initial_indent=f'  {(folder or ".") + "/":<{width}} ',
                               subsequent_indent=' ' * (width + 3), break_on_hyphens=False)
    lines += ['', COMPOSING, '', EXAMPLES, '',
              'Meta flags (before the script): -v print every config value as it is read, -q quiet.']
    return '\n'.join(lines)


def script_help(name: str) -> str:
    """``fig <script> -h``: the script's description and every key it reads, with type, default and help."""
    from .config.keys import framework_keys
    from .settings import COMMON_HELP, AnyKeys, fields_of
    entry = registry.get('script', name)
    doc = inspect.cleandoc(entry.obj.__doc__ or entry.description or '')
    lines = [f'Usage: fig {name} [configs...] [--key value ...]', '', doc, '']
    declared = tuple(cls for cls in entry.settings if cls is not AnyKeys)
    if AnyKeys in entry.settings and not declared:
        lines += [f'`{name}` reads any key: it shows the config rather than running with it.']
    elif declared:
        lines += [f'Keys of `{name}` (`--key value` on the command line, `key: value` in a config file):']
        rows = []
        for cls in declared:
            for spec in fields_of(cls):
                if spec.nested is None:
                    rows.append((spec.name, spec.type_name, _default(spec.default), spec.help))
                else:
                    rows += [(f'{spec.name}.{inner.name}', inner.type_name, _default(inner.default), inner.help)
                             for inner in fields_of(spec.nested)]
        lines += _table(rows)
        if AnyKeys in entry.settings:
            lines += ['', f'Every other flag is passed on (`fig {name}` checks it as the script it runs does).']
    else:
        lines += [f'`{name}` does not declare its settings yet, so they cannot be listed here and its top-level '
                  f'keys are not checked (misspelt ones are reported as warnings).']
    lines += ['', 'Keys every script reads:'] + _table([(k, '', '', v) for k, v in COMMON_HELP.items()])
    lines += ['', 'The framework\'s keys (a component\'s own keys are its constructor arguments: `fig list <kind>`):']
    lines += _table([(k, '', '', v) for k, v in framework_keys().items()])
    lines += ['', COMPOSING]
    return '\n'.join(lines)


def _default(value) -> str:
    if value is dataclasses.MISSING:
        return '(required)'
    if isinstance(value, bool):
        return str(value).lower()
    return 'null' if value is None else str(value)


def _table(rows) -> list[str]:
    if not rows:
        return []
    widths = [max(len(str(row[i])) for row in rows) for i in range(3)]
    out = []
    for key, kind, default, help_line in rows:
        head = f'  {key:<{widths[0]}}  {kind:<{widths[1]}}  {default:<{widths[2]}}  ' \
            if widths[1] or widths[2] else f'  {key:<{widths[0]}}  '
        out.append((head + help_line).rstrip())
    return out
