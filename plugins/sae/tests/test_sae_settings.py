"""The plugin's scripts declare their top-level keys; shared keys share one default; the paper protocol config."""
from dataclasses import fields

import framework
from framework.settings import settings_from
import plugins  # noqa: F401
from framework.registry import get
from plugins.sae.scripts import FidSettings, ResponseSettings, SampleSettings


def defaults(cls):
    return {f.name: f.default for f in fields(cls)}


def test_each_script_declares_one_settings_dataclass():
    assert get('script', 'responses').settings == (ResponseSettings,)
    assert get('script', 'sae-samples').settings == (SampleSettings,)
    assert get('script', 'sae-fid').settings == (FidSettings,)


def test_a_key_has_the_same_default_in_every_script():
    tables = [defaults(ResponseSettings), defaults(SampleSettings), defaults(FidSettings)]
    for i, a in enumerate(tables):
        for b in tables[i + 1:]:
            for key in set(a) & set(b):
                assert a[key] == b[key], key
    assert defaults(ResponseSettings)['mode'] == 'val' and defaults(SampleSettings)['bank_size'] == 1024


def test_the_cpu_defaults_and_the_paper_protocol():
    cpu = defaults(ResponseSettings)
    assert (cpu['num_latent'], cpu['num_response'], cpu['num_groups'], cpu['num_traversals'],
            cpu['traversal_samples']) == (1000, 50, 5, 5, 8)
    assert cpu['response_base'] == 'prior'
    cfg = framework.compose('responses/paper')
    paper = settings_from(cfg, ResponseSettings)
    assert (paper.num_latent, paper.num_response, paper.num_groups, paper.num_traversals,
            paper.traversal_samples) == (10000, 100, 50, 50, 32)
    assert paper.mode == 'full' and paper.response_base == 'prior'


def test_the_paper_splits_win_when_listed_first():
    from framework.scripts.common import split_settings
    vec = split_settings(framework.compose('sae/split-vec', 'hybrid', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec'))
    assert (vec.val, vec.test) == (0.1, 0.0)                  # 90k train / 10k val of the paper's 100k vectors
    images = split_settings(framework.compose('sae/split-images', 'hybrid', 'a/conv12', 'm/ae', 'd/shapes3d-synth'))
    assert (images.val, images.test) == (0.08, 0.2)          # 3D-Shapes: 96,000 test, 38,400 val of 480,000
    assert round(480000 * images.test) == 96000 and round(480000 * images.val) == 38400
    core = split_settings(framework.compose('hybrid', 'a/e/conv12', 'a/d/strc/12', 'm/ae', 'd/vec'))
    assert (core.val, core.test) == (0.1, 0.1)
