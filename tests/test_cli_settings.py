"""Settings dataclasses: the help line and limits a field declares, and the messages a bad value gets."""
from dataclasses import dataclass, field

import pytest

from framework.errors import ConfigError
from framework.settings import check_value, fields_of, setting


@dataclass
class Inner:
    """How the inner node is split."""
    val: float = setting(0.1, 'validation fraction', min=0, max=1)


@dataclass
class Example:
    steps: int = setting(10, 'optimisation steps', min=0)
    batch_size: int = field(default=8, metadata={'help': 'per step', 'min': 1})
    seed: int = setting(0, 'random seed', hint='For several seeds, use `fig sweep`.')
    schedule: str = 'none'            # none | cosine
    mode: str = setting('val', 'split', choices=('train', 'val'))
    hidden: list[int] = setting([32, 32], 'widths')
    name: str | None = None
    inner: Inner = field(default_factory=Inner)


def spec(name):
    return next(s for s in fields_of(Example) if s.name == name)


def test_help_comes_from_metadata_or_the_trailing_comment():
    assert [(s.name, s.type_name, s.help) for s in fields_of(Example)][:4] == [
        ('steps', 'int', 'optimisation steps'), ('batch_size', 'int', 'per step'),
        ('seed', 'int', 'random seed'), ('schedule', 'str', 'none | cosine')]
    assert spec('hidden').default == [32, 32] and spec('hidden').type_name == 'list[int]'
    assert spec('name').type_name == 'str | None'
    assert spec('inner').nested is Inner and spec('inner').help == 'How the inner node is split.'


@pytest.mark.parametrize('name, value', [('steps', 0), ('steps', 5), ('steps', 4.0), ('batch_size', 1),
                                         ('mode', 'train'), ('hidden', [1, 2]), ('name', None), ('name', 'x')])
def test_values_that_fit_pass(name, value):
    check_value(spec(name), value)


@pytest.mark.parametrize('name, value, message', [
    ('steps', -5, '`--steps` must be at least 0 (default 10), got -5.'),
    ('steps', 2.5, '`--steps` expects an int (default 10), got 2.5.'),
    ('steps', True, '`--steps` expects an int'),
    ('batch_size', 0, '`--batch_size` must be positive (default 8), got 0.'),
    ('seed', [0, 1], '`--seed` expects one int (default 0), got [0, 1]. For several seeds, use `fig sweep`.'),
    ('mode', 'tset', '`--mode` must be one of train, val'),
    ('hidden', 32, '`--hidden` expects a list such as [1, 2]'),
    ('hidden', ['a'], '`--hidden` expects a list of int'),
    ('schedule', [3], '`--schedule` expects one text value'),
])
def test_values_that_do_not_fit_name_the_key_and_the_fix(name, value, message):
    with pytest.raises(ConfigError) as info:
        check_value(spec(name), value)
    assert str(info.value).startswith(message) and 'Pass e.g. `--' in str(info.value)


def test_nested_fields_are_checked_with_their_dotted_key():
    val = fields_of(Inner)[0]
    with pytest.raises(ConfigError, match=r'`--inner.val` must be at most 1'):
        check_value(val, 1.5, 'inner.val')


def test_settings_from_reads_nested_nodes_and_checks_values():
    from framework.config import compose
    from framework.settings import settings_from
    settings = settings_from(compose(steps=3, inner={'val': 0.25}), Example)
    assert settings.steps == 3 and settings.inner == Inner(val=0.25) and settings.hidden == [32, 32]
    assert settings_from(compose(), Example).inner == Inner()
    with pytest.raises(ConfigError, match='`--inner.val` must be at most 1'):
        settings_from(compose(inner={'val': 2.0}), Example)
    with pytest.raises(ConfigError, match='`--steps` must be at least 0'):
        settings_from(compose(steps=-1), Example)
