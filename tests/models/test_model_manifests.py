"""The network built from each official YAML has exactly the official state dict and summary (manifests/)."""
import json

import pytest
import torch

from higherhrnet.config import load_config
from higherhrnet.models import build_model, model_summary

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)

MANIFESTS = ['coco__w32_512_adam_lr1e-3', 'coco__w32_640_adam_lr1e-3', 'coco__w48_640_adam_lr1e-3',
             'crowd_pose__w32_512_adam_lr1e-3', 'crowd_pose__w32_512_adam_lr1e-3_coco',
             'crowd_pose__w32_512_adam_lr1e-3_syncbn', 'crowd_pose__w32_640_adam_lr1e-3',
             'crowd_pose__w48_640_adam_lr1e-3']


def _manifest_and_model(repo, shared, name):
    manifest = json.loads((shared / 'manifests' / f'{name}.json').read_text())
    dataset, yaml_name = name.split('__')
    cfg = load_config(str(repo / 'experiments' / dataset / 'higher_hrnet' / f'{yaml_name}.yaml'))
    with torch.device('meta'):  # shapes and dtypes only: builds W48 in a fraction of a second
        model = build_model(cfg)
    return manifest, model, cfg


@pytest.mark.parametrize('name', MANIFESTS)
def test_state_dict_matches_manifest(repo, shared, name):
    manifest, model, _ = _manifest_and_model(repo, shared, name)
    expected = [(e['key'], tuple(e['shape']), e['dtype']) for e in manifest['state_dict']]
    actual = [(k, tuple(v.shape), str(v.dtype).removeprefix('torch.')) for k, v in model.state_dict().items()]
    assert len(actual) == manifest['num_state_dict_entries'] == 1810
    assert actual == expected  # keys, order, shapes and dtypes
    assert sum(p.numel() for p in model.parameters()) == manifest['total_parameters']


@pytest.mark.parametrize('name', MANIFESTS)
def test_model_summary_matches_manifest(repo, shared, name):
    manifest, model, cfg = _manifest_and_model(repo, shared, name)
    summary = model_summary(model, cfg.DATASET.INPUT_SIZE)
    reported = manifest['model_summary']
    assert summary.input_shape == tuple(reported['dump_input_shape'])
    assert summary.total_parameters == reported['total_parameters_reported']
    assert summary.total_multiply_adds == reported['total_multiply_adds_reported']
    assert summary.gflops == pytest.approx(reported['gflops_reported'], rel=1e-12)
    assert summary['total_parameters'] == summary.total_parameters and summary['gflops'] == summary.gflops
    assert [list(s) for s in summary.output_shapes] == manifest['output_shapes_for_dump_input']


def test_summary_of_a_real_model_leaves_it_untouched(repo, shared):
    cfg = load_config(str(shared / 'tiny' / 'tiny_coco.yaml'))
    model = build_model(cfg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    summary = model_summary(model, (256, 352))
    assert model.training  # mode restored
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert summary.total_parameters == 739_467  # FIXTURES 2: the tiny model's official parameter count
    assert summary.output_shapes == [(1, 34, 64, 88), (1, 17, 128, 176)]
    assert 'multiply-adds' in str(summary) and 'final_layers.0' in summary.table()
