"""Every bad input is answered with exit status 2 and a message that says what to do, and leaves no run
directory and no half-written file behind. The command-line cases run ``python main.py ...`` for real, several
at once to keep the wall time down; the shape and divergence checks run in-process."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import run_in_process as in_process
from framework.errors import ConfigError, DataError, TrainingDiverged

pytestmark = pytest.mark.slow        # end-to-end runs of the command line (.ci/run runs them)

ROOT = Path(__file__).resolve().parent.parent
TINY = ['--dataset.num_samples', '300', '--batch_size', '16', '--progress', 'false', '--eval_batches', '1']


def launch(*args: str) -> subprocess.Popen:
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    return subprocess.Popen([sys.executable, 'main.py', *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def results(procs: dict[str, subprocess.Popen]) -> dict[str, tuple[int, str]]:
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        out[name] = (proc.returncode, stdout + stderr)
    return out


def no_temporaries(root: Path) -> None:
    assert not [p for p in root.rglob('*') if p.name.endswith('.tmp')]




@pytest.fixture(scope='module')
def cli(tmp_path_factory):
    """Run every command-line case once; the tests below read the answers. Three cases run as real
    processes (the exit status as a shell sees it); the others call the same entry point in-process."""
    tmp = tmp_path_factory.mktemp('bad_input')
    empty, trained = tmp / 'empty_root', tmp / 'trained_root'
    not_a_run = tmp / 'not_a_run'
    not_a_run.mkdir()
    answers = results({
        'script': launch('trian', 'demo', '--runs_root', str(empty)),
        'nan': launch('train', 'demo-vec', *TINY, '--steps', '10', '--ckpt_every', '1', '--lr', '1.0e+12',
                      '--runs_root', str(tmp / 'nan_root')),
        'good': launch('train', 'demo-vec', *TINY, '--steps', '2', '--ckpt_every', '1', '--latent_dim', '4',
                       '--runs_root', str(trained)),
    })
    assert answers['good'][0] == 0, answers['good'][1]
    run = next(trained.iterdir())
    foreign = tmp / 'foreign_run'
    shutil.copytree(run, foreign)
    marker = tmp / 'pwned'
    torch.save({'step': 1, 'payload': _Exploit(marker)}, foreign / 'checkpoints' / 'last.pt')
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        answers.update({
            'config': in_process('train', 'dmeo', '--runs_root', str(empty)),
            'component': in_process('train', 'demo', '--encoder._type', 'encoder/conv13', '--runs_root', str(empty)),
            'type': in_process('train', 'demo', '--steps', 'abc', '--runs_root', str(empty)),
            'not_a_run': in_process('train', '--load', str(not_a_run), '--resume', '--runs_root', str(empty)),
            'too_big_batch': in_process('train', 'demo-vec', *TINY, '--batch_size', '4096', '--runs_root', str(empty)),
            'cuda': in_process('train', 'demo', '--device', 'cuda', '--runs_root', str(empty)),
            'other_config': in_process('train', '--load', str(run), '--resume', '--latent_dim', '6', '--steps', '4'),
            'pickled': in_process('train', '--load', str(foreign), '--resume', '--steps', '4'),
        })
    finally:
        torch.set_num_threads(before)
    return {'answers': answers, 'tmp': tmp, 'empty': empty, 'marker': marker, 'run': run}


class _Exploit:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def answer(cli, name: str) -> str:
    code, text = cli['answers'][name]
    assert code == 2, f'{name}: exit {code}\n{text}'
    assert 'Traceback' not in text, text
    return text


def test_unknown_names_get_the_closest_known_ones(cli):
    assert "Unknown script 'trian'" in answer(cli, 'script') and "'train'" in answer(cli, 'script')
    assert "Unknown config 'dmeo'" in answer(cli, 'config') and "'demo'" in answer(cli, 'config')
    text = answer(cli, 'component')
    assert "Unknown encoder 'conv13'" in text and 'conv12' in text and 'fig list encoder' in text


def test_a_value_of_the_wrong_type_names_the_key(cli):
    text = answer(cli, 'type')
    assert '`--steps`' in text and 'expects an int' in text and "'abc'" in text


def test_load_of_a_folder_that_is_not_a_run(cli):
    text = answer(cli, 'not_a_run')
    assert 'is not a run' in text and 'config.yaml' in text


def test_a_batch_larger_than_the_data_and_a_missing_gpu(cli):
    assert 'lower `--batch_size`' in answer(cli, 'too_big_batch')
    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU')
    assert '--device cpu' in answer(cli, 'cuda')


def test_bad_inputs_leave_no_run_directory_and_no_temporary_file(cli):
    assert not cli['empty'].exists() or not any(cli['empty'].iterdir())
    no_temporaries(cli['tmp'])


def test_a_checkpoint_from_another_config_lists_mismatched_parameters(cli):
    text = answer(cli, 'other_config')
    assert 'does not fit the model' in text and 'different shapes' in text
    assert '(8, ' in text and '(12, ' in text        # VAE head: 2 x latent_dim rows, 4 trained vs 6 asked
    state = torch.load(cli['run'] / 'checkpoints' / 'last.pt', weights_only=True)
    assert state['step'] == 2, 'the refused resume must not touch the run'


def test_a_checkpoint_with_pickled_objects_is_refused(cli):
    text = answer(cli, 'pickled')
    assert 'weights_only' in text and 'refused' in text
    assert not cli['marker'].exists(), 'the pickled payload must never run'


def test_a_diverging_run_stops_with_step_terms_and_hint_and_keeps_its_checkpoint(cli):
    text = answer(cli, 'nan')
    assert 'non-finite at step 2' in text and 'loss=nan' in text and 'rec_loss=' in text and '--lr' in text
    run = next((cli['tmp'] / 'nan_root').iterdir())
    assert f'last good checkpoint is kept at {run}' in text
    state = torch.load(run / 'checkpoints' / 'last.pt', weights_only=True)
    assert state['step'] == 1 and all(torch.isfinite(v).all() for v in state['method'].values())


# ---------------------------------------------------------------------------- in-process

def test_the_loss_becoming_nan_at_step_k_keeps_the_last_good_checkpoint(tmp_path):
    from framework import runs
    from framework.data.base import InMemoryDataset
    from framework.methods import Method
    from framework.trainer import Trainer, TrainSettings

    class GoesNaN(Method):
        def __init__(self, k: int):
            super().__init__()
            self.w, self.k, self.calls = torch.nn.Parameter(torch.ones(3)), k, 0

        def training_step(self, batch):
            self.calls += 1
            fit = (batch['x'] - self.w).pow(2).mean()
            bad = torch.tensor(float('nan')) if self.calls >= self.k else torch.tensor(0.0)
            return {'loss': fit + bad, 'fit': fit, 'bad': bad}

    trainer = Trainer(GoesNaN(k=5), InMemoryDataset(torch.rand(32, 3)),
                      TrainSettings(steps=10, batch_size=4, ckpt_every=2, progress=False, log_every=1, viz_every=0),
                      runs.create_run_dir(tmp_path, 'run'), torch.device('cpu'))
    with pytest.raises(TrainingDiverged) as info:
        trainer.fit()
    message = str(info.value)
    assert 'step 5' in message and 'loss=nan' in message and 'bad=nan' in message and 'fit=' in message
    assert 'grad_clip' in message and 'last good checkpoint' in message
    state = runs.load_checkpoint(trainer.run_dir / 'checkpoints' / 'last.pt')
    assert state['step'] == 4 and torch.isfinite(state['method']['w']).all()
    no_temporaries(tmp_path)


def _autoencoder(in_shape, out_shape):
    from framework.methods.ae import Autoencoder
    from framework.nn.mlp import MLPDecoder, MLPEncoder

    class Miswired(Autoencoder):        # as a plugin might: fixed shapes instead of the dataset's
        def __init__(self):
            super().__init__(lambda **kw: MLPEncoder(**{**kw, 'in_shape': in_shape}, hidden=(4,)),
                             lambda **kw: MLPDecoder(**{**kw, 'out_shape': out_shape}, hidden=(4,)),
                             observation_shape=(3, 8, 8), latent_dim=2)
    return Miswired()


def test_an_image_dataset_with_the_wrong_number_of_channels_is_named():
    from framework.data.base import InMemoryDataset
    from framework.checks import check_observation_shapes

    rgb = InMemoryDataset(torch.rand(4, 3, 8, 8))
    with pytest.raises(ConfigError) as info:
        check_observation_shapes(_autoencoder((1, 8, 8), (3, 8, 8)), rgb)
    message = str(info.value)
    assert 'encoder' in message and '1-channel' in message and '3-channel' in message
    assert 'Use a dataset with 1 channel' in message
    with pytest.raises(ConfigError, match=r'decoder .*\(1, 8, 8\)'):
        check_observation_shapes(_autoencoder((3, 8, 8), (1, 8, 8)), rgb)
    check_observation_shapes(_autoencoder((3, 8, 8), (3, 8, 8)), rgb)      # agreeing shapes pass

    liar = InMemoryDataset(torch.rand(4, 1, 8, 8))
    liar.observation_shape = (3, 8, 8)
    with pytest.raises(DataError, match=r'declares observations of shape \(3, 8, 8\).*\(1, 8, 8\)'):
        check_observation_shapes(_autoencoder((3, 8, 8), (3, 8, 8)), liar)
