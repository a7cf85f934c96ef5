"""Command-line behaviour on top of omnifig's parser, as omnifig "behaviors"; the text lives in ``cli_help``.

- ``--reg-wt 4`` is the same key as ``--reg_wt 4`` (YAML files use underscores);
- ``fig list encoder`` lists one kind and ``fig download-dataset 3dshapes`` names a dataset (a positional word);
- ``--load RUN`` adds the run's saved ``config.yaml`` as the lowest-precedence config, so the named configs
  and the command-line flags still win; ``--load RUN1 RUN2 ...`` (or a folder of runs) gives the script a list;
- ``fig``, ``fig -h`` and ``fig <script> -h`` print usage and exit 0;
- before a script runs, its config is checked: unknown names, unknown keys and bad values are refused with one
  message and exit status 2, before anything is written (``framework/config/keys.py``);
- omnifig's per-key report is printed only with ``-v``.
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import omnifig as fig

from . import registry, runs
from .errors import FrameworkError

_HELP_FLAGS = ('-h', '--help')


class CommandLine(fig.Behavior, name='structrep-cli', code='S', priority=1000,
                  description='--a-b means --a_b; --load RUN; help; strict configs; helpful errors'):
    """Rewrites argv before omnifig parses it, and checks the composed config before the script runs."""

    def __init__(self, project, **kwargs):
        super().__init__(project, **kwargs)
        self.project = project

    def parse_argv(self, meta, argv, script_name=None):
        argv = list(argv)
        if not argv or any(term in _HELP_FLAGS for term in argv):
            show_help(self.project, argv)
        argv = rewrite_argv(self.project, argv)
        meta['argv'] = list(argv)          # `fig show` reports which values came from the command line
        return argv

    def include(self, meta):
        return True

    def pre_run(self, meta, config):
        _, warnings = prepare(config)
        for warning in warnings:
            print(f'warning: {warning}', file=sys.stderr)


def prepare(config) -> tuple:
    """The plain config of omnifig's composed ``config``, checked for its script: (Config, warnings).

    Raises the ``FrameworkError`` of the first problem (unknown names, keys, shadowed or bad values).
    """
    from .config import to_config, validate_types
    from .config.keys import check_config
    config.silent = True
    plain = to_config(config)
    plain.verbose = bool(config.pull('_meta.verbose', False, silent=True))
    validate_types(plain)
    script = config.pull('_meta.script_name', None, silent=True)
    return plain, ([] if script is None else check_config(plain, script))


class Verbose(fig.Behavior, name='verbose', code='v', priority=90, num_args=0,
              description='print every component argument as it is built, and the key it came from'):
    """``-v``: each component argument as it is built (``framework/config/build.py``)."""


def show_help(project, argv: list[str]) -> None:
    """``fig``, ``fig -h``: the usage; ``fig <script> -h``: the script's keys. Exits with status 0."""
    from .cli_help import script_help, usage
    script = next((term for term in argv if not term.startswith('-')), None)
    if script is None:
        print(usage(project))
    else:
        _check_script(project, script)
        print(script_help(script))
    sys.exit(0)


def rewrite_argv(project, argv: list[str]) -> list[str]:
    i = 0
    while i < len(argv) and argv[i].startswith('-') and not argv[i].startswith('--'):
        i += 1                                              # meta flags such as -q, -v
    if i >= len(argv) or argv[i].startswith('--'):
        return _normalise_keys(argv)
    script = argv[i]
    head, rest = argv[:i + 1], argv[i + 1:]
    _check_script(project, script)
    names, flags = split_names(rest)
    entry = registry.get('script', script)
    if entry.positional and names:                  # `fig list encoder`, `fig results SWEEP RUN ...`
        value = ','.join(names) if entry.positional_many else names[0]
        return head + [f'--{entry.positional}', value] + _normalise_keys(flags)
    from .config import check_config_name
    for name in names:
        check_config_name(project, name)
    _refuse_stray_words(project, head, names, flags)
    flags = _normalise_keys(flags)
    flags, extra_configs = _resolve_load(flags)
    return head + names + extra_configs + flags


def _refuse_stray_words(project, head: list[str], names: list[str], flags: list[str]) -> None:
    """A word after a flag's value is neither a value nor a config name; say which, and the command to run.

    omnifig would fail with ``ValueError: Unexpected argument``. A config name there cannot simply be moved,
    because the order of config names decides which file wins.
    """
    stray, j = [], 0
    while j < len(flags):
        term = flags[j]
        j += 1
        if not term.startswith('--'):
            stray.append(term)
        elif '=' not in term:
            many = term == '--load'          # `--load RUN1 RUN2 ...` takes several
            while j < len(flags) and not flags[j].startswith('--'):
                j += 1
                if not many:
                    break
    if not stray:
        return
    configs = [word for word in stray if project.find_config(word, None) is not None]
    rest = [term for term in flags if term not in configs]
    if configs:
        fixed = ' '.join(['fig', *head, *names, *configs, *rest])
        raise FrameworkError(f'{_quoted(configs)} {"is a config name" if len(configs) == 1 else "are config names"} '
                             f'after the flags. Config names go before every --flag (the order of the names '
                             f'decides which file wins). Run: {fixed}')
    raise FrameworkError(f'Unexpected {_quoted(stray)} after the flags: a flag takes one value (`--key value`; '
                         f'quote a value with spaces, and write a list as `[1, 2]`).')


def _quoted(words: list[str]) -> str:
    return ', '.join(f'`{word}`' for word in words)


def split_names(terms: list[str]) -> tuple[list[str], list[str]]:
    """(config names, flags): the words before the first ``--flag``, then everything from it on."""
    for j, term in enumerate(terms):
        if term.startswith('--'):
            return list(terms[:j]), list(terms[j:])
    return list(terms), []


def _normalise_keys(flags: list[str]) -> list[str]:
    out = []
    for term in flags:
        if term.startswith('--') and len(term) > 2:
            key, eq, value = term[2:].partition('=')
            term = '--' + key.replace('-', '_') + eq + value
        out.append(term)
    return out


def _resolve_load(flags: list[str]) -> tuple[list[str], list[str]]:
    if '--load' not in flags:
        return flags, []
    k = flags.index('--load')
    values = []
    j = k + 1
    while j < len(flags) and not flags[j].startswith('--'):
        values.append(flags[j])
        j += 1
    if not values:
        raise FrameworkError('--load needs a run: `--load RUN` (a run name under trained_nets/ or a path).')
    root = _flag_value(flags, '--runs_root')
    rest = flags[:k] + flags[j:]
    if len(values) == 1:
        path = Path(values[0])
        if not runs.is_run(path) and path.is_dir() and runs.find_runs(path):
            return rest + ['--load', json.dumps([str(p) for p in runs.find_runs(path)])], []
        run = runs.resolve_run(values[0], Path(root) if root else None)
        return rest + ['--load', str(run)], [str(run / runs.RUN_CONFIG_FILE)]
    found = []
    for value in values:
        path = Path(value)
        if not runs.is_run(path) and path.is_dir():
            found.extend(runs.find_runs(path))
        else:
            found.append(runs.resolve_run(value, Path(root) if root else None))
    return rest + ['--load', json.dumps([str(p) for p in found])], []


def _flag_value(flags: list[str], name: str):
    for j, term in enumerate(flags):
        if term == name and j + 1 < len(flags):
            return flags[j + 1]
        if term.startswith(name + '='):
            return term.split('=', 1)[1]
    return None


def _check_script(project, script: str) -> None:
    if project.find_script(script, None) is not None:
        return
    import difflib
    known = sorted(entry.name for entry in project.iterate_scripts())
    close = difflib.get_close_matches(script, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ''
    raise FrameworkError(f'Unknown script {script!r}.{hint} Known scripts: {", ".join(known)}. '
                         f'`fig -h` describes them.')


def check_command(*argv: str) -> list[str]:
    """Everything ``fig ARGV`` checks before its script starts (names, keys, values), without running it.

    Returns the warnings the command would print; raises the ``FrameworkError`` it would report.
    """
    return checked_config(*argv)[1]


def checked_config(*argv: str) -> tuple:
    """(the plain config ``fig ARGV`` would run its script with, its warnings), after every check."""
    from .config import project
    proj = project()
    list(proj.behaviors())              # omnifig creates the behaviors (our argv rewriting) on first listing
    return prepare(proj.parse_argv([str(a) for a in argv]))


def fail(exc: BaseException) -> None:
    """Print a user-fixable error as one message and exit with status 2 (no traceback)."""
    print(f'error: {exc}', file=sys.stderr)
    sys.exit(2)


def entry() -> None:
    """``python main.py ...`` and ``python -m framework ...``: the same as ``fig ...`` from any directory."""
    main(sys.argv[1:])


def main(argv: list[str]) -> None:
    """Run ``fig ARGV``: a user-fixable error is one message and exit status 2, wherever it is raised."""
    from .allocator import configure
    from .config import project
    configure()                     # freed activations stay in the process (framework/allocator.py)
    logging.getLogger('omnifig').setLevel(logging.CRITICAL)     # it would log each failure that we report
    try:
        project().main([str(a) for a in argv])
    except FrameworkError as exc:
        fail(exc)


def fig_entry() -> None:
    """The ``fig`` console script: this project from any directory, except inside another omnifig project."""
    here = Path.cwd().resolve()
    from .config import ROOT
    for folder in [here, *here.parents]:
        if folder == ROOT:
            break
        if any((folder / name).is_file() for name in _OMNIFIG_PROJECT_FILES):
            fig.entry()             # someone else's project: omnifig's own behaviour
            return
    entry()


_OMNIFIG_PROJECT_FILES = ('.fig.project.yml', '.fig.project.yaml', 'fig.project.yml', 'fig.project.yaml',
                          '.omnifig.yml', '.omnifig.yaml', 'omnifig.yml', 'omnifig.yaml')
