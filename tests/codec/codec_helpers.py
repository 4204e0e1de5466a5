"""Helpers of the codec tests: official settings, loading fixtures, building decoder inputs."""
import numpy as np
import torch

from higherhrnet.codec import accumulate_scale, aggregate_stage_outputs, finish_aggregation
from higherhrnet.keypoints import COCO_FLIP_INDEX

# TEST settings of tiny_coco.yaml / the official w32 YAML (algorithm.md §1.6).
STAGE_SWITCHES = dict(with_heatmaps_loss=[True, True], with_ae_loss=[True, False],
                      test_with_heatmaps=[True, True], test_with_ae=[True, False])


def load_npz(path):
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def raw_outputs(fixture, scale_index, call):
    """The two stage outputs [(1, 34, h, w), (1, 17, 2h, 2w)] of network call `call` at one scale."""
    return [torch.from_numpy(fixture[f"s{scale_index}_net{call}_out{stage}"]) for stage in (0, 1)]


def stage_maps(fixture, scale_index, flip):
    """`aggregate_stage_outputs` on the stored raw outputs, projected to the fixture's base size."""
    base_size = tuple(int(v) for v in fixture["base_size_wh"])
    return aggregate_stage_outputs(
        raw_outputs(fixture, scale_index, 0), raw_outputs(fixture, scale_index, 1) if flip else None,
        num_joints=17, flip_index=COCO_FLIP_INDEX, project_to_size=base_size, **STAGE_SWITCHES)


def decoder_inputs(fixture, flip):
    """(det (1, 17, H, W), tags (1, 17, H, W, T)) of a single-scale setting from its raw outputs."""
    heatmaps, tags = stage_maps(fixture, 0, flip)
    final, tags_list = accumulate_scale(None, [], heatmaps, tags, scale_factor=1.0, num_scales=1,
                                        flip_test=flip, project_to_image=True)
    return finish_aggregation(final, tags_list, 1)


def dense_grouping_inputs(fixture, prefix):
    """Dense det (1, 17, H, W) and tag (1, 17, H, W, 1) float32 maps of a grouping fixture image."""
    width, height = (int(v) for v in fixture[prefix + "heatmap_size_wh"])
    det = np.zeros((1, 17, height, width), np.float32)
    tag = np.zeros((1, 17, height, width, 1), np.float32)
    joint, y, x = fixture[prefix + "det_idx"].T
    det[0, joint, y, x] = fixture[prefix + "det_val"]
    joint, y, x = fixture[prefix + "tag_idx"].T
    tag[0, joint, y, x, 0] = fixture[prefix + "tag_val"]
    return det, tag


def synthetic_maps(seed, num_joints=17, height=40, width=56, tag_dim=2, num_people=6):
    """Random decoder inputs with person-like structure and many exact ties.

    det (1, J, H, W): Gaussian blobs (one per person and joint, some joints absent) plus noise, quantised
    to steps of 1/32 (plateaus, equal neighbours, equal top-k values). tags (1, J, H, W, T): each person's
    tag near its blobs, noise elsewhere, quantised to steps of 1/4 so that tag distances of exactly
    0.5, 1.5, 2.5 (half-to-even rounding ties) and equal Munkres costs occur.
    """
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    det = rng.normal(0, 0.03, (num_joints, height, width))
    tags = rng.normal(0, 2.0, (num_joints, height, width, tag_dim))
    ownership = np.full((num_joints, height, width), -np.inf)
    person_tags = rng.uniform(-3, 3, (num_people, tag_dim))
    for person in range(num_people):
        center = rng.uniform((4, 4), (width - 4, height - 4))
        for joint in range(num_joints):
            if rng.random() < 0.2:
                continue
            x, y = center + rng.normal(0, 6, 2)
            blob = rng.uniform(0.15, 1.0) * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 1.5 ** 2))
            mine = blob > ownership[joint]
            ownership[joint][mine] = blob[mine]
            tags[joint][mine] = person_tags[person] + rng.normal(0, 0.3, (int(mine.sum()), tag_dim))
            det[joint] = np.maximum(det[joint], blob)
    det = np.round(det * 32) / 32
    tags = np.round(tags * 4) / 4
    return (torch.from_numpy(det[None].astype(np.float32)), torch.from_numpy(tags[None].astype(np.float32)))
