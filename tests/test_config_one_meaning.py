"""One meaning per key: a value reaches the component that reads it, or the command is refused with the key to use;
the effective config (what components are built with) is what `fig show` and `fig sweep --dry-run` print."""
from __future__ import annotations

import pytest

from framework.cli import check_command
from framework.config import compose
from framework.config.effective import effective_config
from framework.errors import ConfigError
from framework.registry import get
from framework.testing import run_in_process

TCVAE = ('a/dlib', 'm/betatcvae', 'd/sprites')


def test_a_flag_that_a_deeper_key_shadows_is_refused_with_the_key_to_use():
    with pytest.raises(ConfigError) as info:
        check_command('train', *TCVAE, '--beta', '2')
    message = str(info.value)
    assert '`--beta 2` does not reach' in message and '`method.beta` (6.0, set by m/betatcvae)' in message
    assert 'Use `--method.beta 2`' in message


def test_the_key_the_component_reads_reaches_it():
    assert check_command('train', *TCVAE, '--method.beta', '2') == []
    cfg = compose(*TCVAE, **{'method.beta': 2})
    assert effective_config(cfg, get('script', 'train').settings)['method']['beta'] == 2.0


def test_a_top_level_value_reaches_a_method_that_does_not_set_it_itself():
    """The seed papers' `--reg-wt 4` at the top reaches m/vae, which has no reg_wt of its own."""
    cfg = compose('a/mlp', 'm/vae', 'd/vec', reg_wt=4)
    effective = effective_config(cfg, get('script', 'train').settings)
    assert effective['method']['reg_wt'] == 4.0 and effective['method']['latent_dim'] == 12
    assert check_command('train', 'a/mlp', 'm/vae', 'd/vec', '--reg-wt', '4') == []


def test_a_file_value_that_a_deeper_file_value_hides_names_both_files(tmp_path):
    weights = tmp_path / 'weights.yaml'
    weights.write_text('beta: 4.0\n')
    with pytest.raises(ConfigError) as info:
        check_command('train', str(weights), *TCVAE)
    message = str(info.value)
    assert f'`beta: 4.0` (set by {weights})' in message and 'set by m/betatcvae' in message
    assert '--method.beta 4.0' in message


def test_a_flag_that_reaches_one_component_but_not_another_is_refused(tmp_path):
    """`--act` reaches the encoder but the decoder sets its own: half of what was typed would be ignored."""
    own = tmp_path / 'own-act.yaml'
    own.write_text('decoder: {act: elu}\n')
    assert check_command('train', str(own), 'a/mlp', 'm/vae', 'd/vec') == []
    with pytest.raises(ConfigError, match=r'--decoder.act relu'):
        check_command('train', str(own), 'a/mlp', 'm/vae', 'd/vec', '--act', 'relu')


@pytest.mark.parametrize('flags, message', [
    (['--lr', '.nan'], '`--lr` expects a finite number'),
    (['--lr', '[unclosed'], "`--lr` expects a number (default 0.0005), got '[unclosed'"),
    (['--latent_dim', '-3'], '`--latent_dim` must be positive'),
    (['--latent_dim', '0'], '`--latent_dim` must be positive'),
    (['--steps', '1e20'], '`--steps` expects an int of at most 2**53'),
    (['--reg-wt', '-5'], '`--reg_wt` must be at least 0'),
    (['--method.reg_wt', 'inf'], "`--method.reg_wt` expects a number"),
    (['--split.val', '1.5'], '`--split.val` must be at most 1'),
])
def test_bad_values_are_refused_before_a_run_folder_exists(runs_root, flags, message):
    code, text = run_in_process('train', 'demo-vec', '--steps', '1', '--runs_root', str(runs_root), *flags)
    assert code == 2 and message in text and 'Traceback' not in text
    assert not runs_root.exists() or not any(runs_root.iterdir())


def test_a_config_name_after_a_flag_gets_the_command_to_run(runs_root):
    code, text = run_in_process('train', 'a/dlib', 'm/factorvae', '--reg-wt', '40', 'd/sprites')
    assert code == 2 and 'Traceback' not in text
    assert '`d/sprites` is a config name after the flags' in text
    assert 'Run: fig train a/dlib m/factorvae d/sprites --reg-wt 40' in text


def test_broken_yaml_names_the_file_and_the_line(tmp_path):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('steps: 10\nhidden: [1, 2\n')
    code, text = run_in_process('show', str(bad))
    assert code == 2 and f'{bad} is not valid YAML' in text and '(line 3, column 1)' in text
    binary = tmp_path / 'binary.yaml'
    binary.write_bytes(bytes(range(128, 256)))
    code, text = run_in_process('show', str(binary))
    assert code == 2 and f'{binary} is not a text file' in text


def test_text_that_is_not_yaml_is_a_text_value(runs_root):
    """`--run_name @exp1`: `@` cannot start a YAML value, so the flag's text is the name."""
    code, text = run_in_process('train', 'demo-vec', '--steps', '1', '--include_eval', 'false',
                                '--dataset.num_samples', '200', '--runs_root', str(runs_root), '--run_name', '@exp1')
    assert code == 0, text
    assert (runs_root / '@exp1' / 'config.yaml').is_file()


def test_fig_show_prints_what_each_component_is_built_with():
    code, text = run_in_process('show', *TCVAE, '--method.beta', '2')
    assert code == 0, text
    effective = text.split('# What the components are built with')[1]
    assert "beta: 2" in effective and 'method.beta (command line)' in effective
    assert 'latent_dim: 12' in effective and 'latent_dim (base)' in effective
    assert 'criterion: ' in effective and '# default' in effective


@pytest.mark.parametrize('content', [b'method: {_type: method/vae\n', bytes(range(128, 256))])
def test_a_broken_saved_run_config_names_the_file(tmp_path, content):
    run = tmp_path / 'run'
    (run / 'checkpoints').mkdir(parents=True)
    (run / 'config.yaml').write_bytes(content)
    code, text = run_in_process('eval', '--load', str(run))
    assert code == 2 and f'{run / "config.yaml"} is not' in text and 'Traceback' not in text
