"""Block ("group") hybrid samples of an SAE on images: `fig sae-samples --load RUN`."""
import pytest
from framework.testing import only_run, run_cli

pytestmark = pytest.mark.slow        # end-to-end runs of the command line (.ci/run runs them)


def test_sae_samples_writes_hybrid_and_block_hybrid_grids(tmp_path):
    run_cli('train', 'hybrid', 'a/e/conv12', 'a/d/strc/6', 'm/ae', 'd/sprites', '--dataset.size', 32,
        '--steps', 2, '--batch-size', 8,
        '--include-eval', 'false', '--viz-every', 0, runs_root=tmp_path)
    run = only_run(tmp_path)
    run_cli('sae-samples', '--load', run, '--grid-size', 2, '--bank-size', 16)
    assert (run / 'images' / 'samples-hybrid.png').exists()
    assert (run / 'images' / 'samples-hybrid-blocks.png').exists()
    assert not (run / 'images' / 'samples-prior.png').exists()       # an AE has no prior
