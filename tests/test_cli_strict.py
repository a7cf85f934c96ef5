"""Strict configs: each mistake a researcher makes on the command line is refused before anything runs, with
one paragraph (exit status 2, no traceback) that names the fix, and nothing is written to disk."""
from pathlib import Path

import pytest
import yaml

from conftest import run_in_process
from framework import registry
from framework.cli import check_command
from framework.errors import ConfigError


def refused(runs_root: Path, *args: str) -> str:
    code, text = run_in_process(*args, '--runs_root', str(runs_root))
    assert code == 2, text
    assert 'Traceback' not in text and text.startswith('error: '), text
    assert len(text.strip().splitlines()) == 1, f'one paragraph, got:\n{text}'
    assert not runs_root.exists(), 'a refused config must not create anything on disk'
    return text


def test_a_misspelt_top_level_key_names_the_right_one(runs_root):
    text = refused(runs_root, 'train', 'demo', '--stpes', '100')
    assert '`stpes` (from the command line): did you mean `steps`?' in text
    assert '`fig train -h`' in text


def test_a_misspelt_nested_key_names_the_full_path(runs_root):
    text = refused(runs_root, 'train', 'demo-vec', '--dataset.num_sampels', '100')
    assert '`dataset.num_sampels`' in text and 'did you mean `dataset.num_samples`' in text


def test_a_misspelt_key_in_a_users_file_names_the_file(runs_root, tmp_path):
    mine = tmp_path / 'mine.yaml'
    mine.write_text('encoder: {hidden: [32], hiden: [16]}\n')
    text = refused(runs_root, 'train', str(mine), 'demo')
    assert f'`encoder.hiden` (from {mine})' in text and '`encoder.hidden`' in text


def test_negative_steps_and_an_empty_batch_are_refused(runs_root):
    assert '`--steps` must be at least 0' in refused(runs_root, 'train', 'demo', '--steps', '-5')
    text = refused(runs_root, 'train', 'demo', '--batch_size', '0')
    assert '`--batch_size` must be positive' in text and 'non-finite' not in text


def test_several_seeds_point_to_sweep(runs_root):
    text = refused(runs_root, 'train', 'demo', '--seed', '[0,1]')
    assert '`--seed` expects one int' in text and 'got [0, 1]' in text and '`fig sweep`' in text


def test_a_method_without_a_decoder_names_the_decoder_configs(runs_root):
    # d/vec sets decoder.hidden but no decoder is chosen: was "TypeError: 'dict' object is not callable"
    text = refused(runs_root, 'train', 'hybrid', 'a/e/conv12', 'm/vae', 'd/vec')
    assert "'method/vae' needs a decoder" in text and 'no `decoder._type`' in text
    for name in ('a/d/conv12', 'a/d/conv16', 'a/d/dlib', 'a/d/mlp'):
        assert name in text


def test_a_key_only_a_missing_component_reads_says_so(runs_root):
    text = refused(runs_root, 'train', 'd/vec')             # no method: base's latent_dim has no reader
    assert '`latent_dim` (from base) is an argument of' in text and 'method' in text


def test_a_reference_makes_a_key_read(tmp_path):
    referring = tmp_path / 'refer.yaml'
    referring.write_text('method: {latent_dim: <>my_dim}\nmy_dim: 3\n')
    assert check_command('train', str(referring), 'a/mlp', 'm/ae', 'd/vec') == []
    plain = tmp_path / 'plain.yaml'
    plain.write_text('my_dim: 3\n')
    with pytest.raises(ConfigError, match='`my_dim`'):
        check_command('train', str(plain), 'a/mlp', 'm/ae', 'd/vec')


def test_options_a_file_offers_to_a_component_another_file_chose_are_not_errors():
    # d/vec offers decoder.hidden for MLP decoders; a/d/strc/12 chooses a decoder without it
    assert check_command('train', 'hybrid', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec') == []
    with pytest.raises(ConfigError, match='`decoder.hidden` \\(from the command line\\)'):
        check_command('train', 'hybrid', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec', '--decoder.hidden', '[8]')


def test_a_script_without_declared_settings_warns_at_the_top_level(runs_root):
    def undeclared(cfg):
        """A plugin script that has not declared its settings yet."""
        return cfg.get('length', 3)
    if 'test-undeclared' not in registry.names('script'):
        registry.add('script', 'test-undeclared', undeclared)
    code, text = run_in_process('test-undeclared', '--lenght', '4')
    assert code == 0, text
    assert 'warning: test-undeclared does not declare its settings' in text and '`lenght`' in text
    with pytest.raises(ConfigError, match='dataset.num_sampels'):       # components are still checked
        check_command('test-undeclared', 'd/vec', '--dataset.num_sampels', '3')


@pytest.mark.slow
def test_keys_of_a_loaded_run_are_not_checked_but_new_ones_are(runs_root):
    code, text = run_in_process('train', 'hybrid', 'a/mlp', 'm/ae', 'd/vec', '--steps', '1', '--batch_size', '8',
                                '--dataset.num_samples', '100', '--progress', 'false', '--include_eval', 'false',
                                '--runs_root', str(runs_root))
    assert code == 0, text
    run = next(runs_root.iterdir())
    saved = yaml.safe_load((run / 'config.yaml').read_text())
    assert 'steps' in saved and not any(key.startswith('_') for key in saved)
    saved['retired_key'] = 1                                     # a key an older version read
    saved['dataset']['retired_option'] = 2
    (run / 'config.yaml').write_text(yaml.safe_dump(saved))
    code, text = run_in_process('eval', '--load', str(run), '--eval_batches', '1', '--ident', 'again')
    assert code == 0, text
    assert (run / 'results' / 'again.json').exists()
    code, text = run_in_process('eval', '--load', str(run), '--eval_batchs', '1')
    assert code == 2 and 'did you mean `eval_batches`' in text, text


def test_show_prints_what_train_would_refuse():
    code, text = run_in_process('show', 'demo', '--stpes', '3')
    assert code == 0, text
    assert 'stpes: 3' in text and 'fig train would refuse this config' in text and 'did you mean `steps`' in text
    code, text = run_in_process('show', 'demo')
    assert code == 0 and 'would refuse' not in text
