"""The config layer over omnifig 1.0.10: precedence, the traps it works around, and saved run configs."""
import pickle
import sys

import pytest
import yaml

import framework
from framework import registry
from framework.config import ConfigManager, compose, create, load_yaml
from framework.errors import ConfigError
from framework.nn.conv_stack import Conv12Encoder


def write(path, text):
    path.write_text(text)
    return str(path)


def test_earlier_file_wins_and_flags_win_over_all(tmp_path):
    first = write(tmp_path / 'first.yaml', 'who: first\nonly_first: 1\n')
    second = write(tmp_path / 'second.yaml', 'who: second\nonly_second: 2\n')
    cfg = compose(first, second)
    assert cfg.get('who') == 'first'
    assert (cfg.get('only_first'), cfg.get('only_second')) == (1, 2)
    assert compose(second, first).get('who') == 'second'
    assert compose(first, second, who='flag').get('who') == 'flag'


def test_a_base_ranks_just_below_its_file(tmp_path):
    (tmp_path / 'parent.yaml').write_text('who: parent\nlr: 1.0\n')
    child = write(tmp_path / 'child.yaml', f'_base: [{tmp_path / "parent.yaml"}]\nwho: child\n')
    cfg = compose(child)
    assert (cfg.get('who'), cfg.get('lr')) == ('child', 1.0)


def test_a_list_in_an_earlier_file_replaces_a_list_instead_of_merging_by_index(tmp_path):
    """Patch ``ConfigDenseNode.update`` (framework/config/omnifig_patches.py): omnifig 1.0.10 merges a list over
    a list index by index, so ``[9]`` over ``[1, 2, 3]`` would give ``[9, 2, 3]``."""
    short = write(tmp_path / 'short.yaml', 'hidden: [9]\n')
    long = write(tmp_path / 'long.yaml', 'hidden: [1, 2, 3]\n')
    assert compose(short, long).get('hidden') == [9]
    assert compose(long, short).get('hidden') == [1, 2, 3]


def test_exponent_floats_arrive_as_numbers_from_files_and_flags(tmp_path):
    """Patches ``ConfigManager.load_raw_config`` and ``_parse_raw_arg``: omnifig reads YAML 1.1, where ``1e-3``
    is a string, from files and flags alike."""
    path = write(tmp_path / 'lr.yaml', 'lr: 1e-3\nsmall: 5E-7\nword: e5\n')
    cfg = compose(path)
    assert cfg.get('lr') == pytest.approx(0.001) and isinstance(cfg.get('lr'), float)
    assert cfg.get('small') == pytest.approx(5e-7)
    assert cfg.get('word') == 'e5'
    manager = ConfigManager.__new__(ConfigManager)
    manager._config_nones = {'None', 'none', 'null'}
    assert manager._parse_raw_arg('2e-4') == pytest.approx(2e-4)


def test_a_duplicate_registration_is_an_error():
    class Other(Conv12Encoder):
        """A different class under a taken name."""
    with pytest.raises(registry.DuplicateRegistrationError, match='conv12'):
        registry.add('encoder', 'conv12', Other)
    assert registry.get('encoder', 'conv12').obj is Conv12Encoder


def test_modules_stay_imported_so_pickling_and_isinstance_work():
    """The boot package ``framework._figboot`` (.fig.project.yml): omnifig deletes the modules of the package it
    imports from ``sys.modules``, which breaks pickling, spawn workers and ``isinstance``."""
    encoder = create('encoder', 'mlp', in_shape=[4], out_dim=2)
    assert 'framework' in sys.modules and 'plugins' in sys.modules
    from framework.nn.mlp import MLPEncoder
    assert isinstance(encoder, MLPEncoder)
    clone = pickle.loads(pickle.dumps(encoder))
    assert isinstance(clone, MLPEncoder)


def test_components_are_built_from_the_signature_without_patching_the_class():
    init_before = Conv12Encoder.__init__
    with pytest.raises(ConfigError):
        create('encoder', 'conv12', in_shape=[3, 60, 60], out_dim=2)      # 60 is not divisible by 32
    encoder = create('encoder', 'conv12', in_shape=[3, 64, 64], out_dim=5, channels=8)
    assert Conv12Encoder.__init__ is init_before
    assert encoder.out_dim == 5 and not hasattr(encoder, '_my_config')


def test_unknown_names_list_the_known_ones_and_the_closest():
    with pytest.raises(registry.UnknownComponentError) as info:
        create('encoder', 'conv13')
    message = str(info.value)
    suggestion = message.split('Did you mean')[1].split('?')[0]
    assert "'conv12'" in suggestion and 'dlib' in message and 'mlp' in message
    with pytest.raises(registry.UnknownComponentError, match='Known component kinds'):
        registry.get('encodr', 'conv12')
    with pytest.raises(ConfigError, match="Did you mean 'demo'"):
        compose('dem')


def test_an_unknown_type_inside_a_config_is_refused(tmp_path):
    path = write(tmp_path / 'bad.yaml', 'encoder: {_type: encoder/convv12}\n')
    with pytest.raises(registry.UnknownComponentError, match="conv12"):
        compose(path)


def test_a_value_of_the_wrong_type_names_the_key():
    with pytest.raises(ConfigError, match="`--channels` expects an int"):
        create('encoder', 'conv12', in_shape=[3, 64, 64], out_dim=2, channels='wide')
    encoder = create('encoder', 'conv12', in_shape=[3, 64, 64], out_dim=2, channels=8.0)   # 8.0 is an int
    assert encoder.body[0][0].out_channels == 8


def test_load_yaml_names_a_broken_file(tmp_path):
    path = tmp_path / 'broken.yaml'
    path.write_text('a: [1, 2\n')
    with pytest.raises(ConfigError, match='broken.yaml'):
        load_yaml(path)


def test_signature_defaults_are_recorded_in_the_config():
    cfg = compose('a/mlp', 'm/ae', 'd/vec', **{'dataset.num_samples': 300})
    cfg.build('dataset')
    data = yaml.safe_load(yaml.safe_dump(framework.config.to_plain(cfg)))
    assert data['dataset']['hidden'] == [128, 128, 128]       # from RandomNetDataset's signature
    assert data['dataset']['num_samples'] == 300
