"""Keypoint layouts: the official tables by default, and one-line errors naming the DATASET.KEYPOINTS key."""
import numpy as np
import pytest

from higherhrnet.config import ConfigError, load_config
from higherhrnet.keypoints import (COCO_FLIP_INDEX, COCO_OKS_SIGMAS, COCO_SKELETON, CROWDPOSE_FLIP_INDEX,
                                   CROWDPOSE_OKS_SIGMAS, CROWDPOSE_SKELETON, GROUPING_JOINT_ORDER,
                                   KeypointLayoutError, build_layout, flip_index_from_pairs)

TEN = 'experiments/synthetic/higher_hrnet/w16_192_ten_joints.yaml'
SIGMAS3 = [0.05, 0.05, 0.1]


def _keypoints(**given):
    return {name: given.get(name, []) for name in ('NAMES', 'FLIP_PAIRS', 'SKELETON', 'OKS_SIGMAS', 'JOINT_ORDER')}


@pytest.mark.parametrize('with_center', [False, True])
def test_empty_keypoints_give_the_official_tables(with_center):
    coco = build_layout('coco_kpt', 17 + with_center, with_center, _keypoints(), flips_on=True)
    assert coco.official == 'coco' and coco.flip_index == COCO_FLIP_INDEX and coco.skeleton == COCO_SKELETON
    assert coco.sigmas_array() is COCO_OKS_SIGMAS and coco.joint_order == GROUPING_JOINT_ORDER
    assert coco.flip_index_with_center() == list(COCO_FLIP_INDEX) + ([17] if with_center else [])
    crowd = build_layout('crowd_pose_kpt', 14 + with_center, with_center, _keypoints(), flips_on=True)
    assert crowd.official == 'crowd_pose' and crowd.flip_index == CROWDPOSE_FLIP_INDEX
    assert crowd.skeleton == CROWDPOSE_SKELETON and crowd.sigmas_array() is CROWDPOSE_OKS_SIGMAS
    assert crowd.joint_order == GROUPING_JOINT_ORDER[:14]  # the official truncated COCO order


def test_official_values_given_explicitly_are_still_the_official_layout():
    explicit = build_layout('coco_kpt', 17, False, _keypoints(OKS_SIGMAS=list(COCO_OKS_SIGMAS)), flips_on=True)
    assert explicit.official == 'coco'


def test_custom_layout_from_pairs_and_file_category():
    category = {'keypoints': ['head', 'left', 'right'], 'skeleton': [[1, 2], [1, 3]]}
    layout = build_layout('coco_kpt', 3, False, _keypoints(FLIP_PAIRS=[[1, 2], [0, 0]], OKS_SIGMAS=SIGMAS3),
                          flips_on=True, category=category)
    assert layout.official is None and layout.names == ('head', 'left', 'right')
    assert layout.flip_index == (0, 2, 1) and layout.skeleton == ((0, 1), (0, 2)) and layout.joint_order == (0, 1, 2)
    np.testing.assert_array_equal(layout.sigmas_array(), SIGMAS3)
    with_center = build_layout('coco_kpt', 4, True, _keypoints(FLIP_PAIRS=[[1, 2]], OKS_SIGMAS=SIGMAS3), True)
    assert with_center.flip_index_with_center() == [0, 2, 1, 3] and with_center.grouping_order(True) == [3, 0, 1, 2]


def test_flips_off_allow_a_layout_without_pairs():
    layout = build_layout('coco_kpt', 3, False, _keypoints(OKS_SIGMAS=SIGMAS3), flips_on=False)
    assert layout.flip_index == (0, 1, 2)


def test_the_ten_joint_example_yaml_loads():
    cfg = load_config(TEN)
    assert cfg.DATASET.NUM_JOINTS == cfg.MODEL.NUM_JOINTS == 10 and cfg.DATASET.KEYPOINTS.FLIP_PAIRS[0] == [0, 1]


def test_flip_index_from_pairs_swaps_both_ways():
    assert flip_index_from_pairs([[0, 3]], 4) == (3, 1, 2, 0)


# (overrides on the 10-joint example, words of the one-line message)
ERRORS = [
    (['DATASET.NUM_JOINTS', '11', 'MODEL.NUM_JOINTS', '11', 'DATASET.KEYPOINTS.NAMES', '[]'],
     ['DATASET.KEYPOINTS.OKS_SIGMAS has 10 entries', '11 joints']),
    (['MODEL.NUM_JOINTS', '9'], ['MODEL.NUM_JOINTS is 9 but DATASET.NUM_JOINTS is 10']),
    (['DATASET.KEYPOINTS.FLIP_PAIRS', '[[0, 10]]'],
     ['DATASET.KEYPOINTS.FLIP_PAIRS pair [0, 10]', 'index 10 outside 0..9']),
    (['DATASET.KEYPOINTS.FLIP_PAIRS', '[[0, 1], [1, 2]]'], ['DATASET.KEYPOINTS.FLIP_PAIRS', 'joint 1 is in two pairs']),
    (['DATASET.KEYPOINTS.FLIP_PAIRS', '[[0, 1, 2]]'], ['DATASET.KEYPOINTS.FLIP_PAIRS entry [0, 1, 2] is not a pair']),
    (['DATASET.KEYPOINTS.FLIP_PAIRS', '[]'], ['DATASET.KEYPOINTS.FLIP_PAIRS is empty but flipping is on', '[[k, k]]']),
    (['DATASET.KEYPOINTS.OKS_SIGMAS', str([0.1] * 9 + [0.0])],
     ['DATASET.KEYPOINTS.OKS_SIGMAS entry 0.0 is not a positive']),
    (['DATASET.KEYPOINTS.OKS_SIGMAS', '[]'],
     ['NUM_JOINTS 10', 'not an official layout', 'set DATASET.KEYPOINTS.OKS_SIGMAS', 'DATASET.KEYPOINTS.FLIP_PAIRS']),
    (['DATASET.KEYPOINTS.JOINT_ORDER', '[0, 1, 2, 3, 4, 5, 6, 7, 8, 8]'],
     ['DATASET.KEYPOINTS.JOINT_ORDER', 'not a permutation of 0..9']),
    (['DATASET.KEYPOINTS.NAMES', '["a", "b"]'], ['DATASET.KEYPOINTS.NAMES has 2 entries', '10 joints']),
    (['DATASET.KEYPOINTS.SKELETON', '[[0, 12]]'], ['DATASET.KEYPOINTS.SKELETON pair [0, 12]', 'outside 0..9']),
]


@pytest.mark.parametrize('opts,words', ERRORS)
def test_layout_errors_name_the_key(opts, words):
    with pytest.raises(ConfigError) as caught:
        load_config(TEN, opts)
    message = str(caught.value)
    assert '\n' not in message and all(word in message for word in words), message


def test_unknown_joint_count_without_keypoints_says_which_keys_to_set():
    with pytest.raises(KeypointLayoutError, match=r'NUM_JOINTS 10 .* set DATASET.KEYPOINTS.OKS_SIGMAS \(10 values\) '
                                                  r'and DATASET.KEYPOINTS.FLIP_PAIRS'):
        build_layout('coco_kpt', 10, False, _keypoints(), flips_on=True)


def test_names_must_agree_with_the_annotation_file():
    category = {'keypoints': ['head', 'left', 'rigth']}
    with pytest.raises(KeypointLayoutError, match=r"NAMES \['head', 'left', 'right'\] disagree with .* of f.json"):
        build_layout('coco_kpt', 3, False, _keypoints(NAMES=['head', 'left', 'right'], OKS_SIGMAS=SIGMAS3), False,
                     category, 'f.json')
    with pytest.raises(KeypointLayoutError, match='f.json: categories\\[0\\].keypoints has 3 joints but'):
        build_layout('coco_kpt', 17, False, _keypoints(), True, category, 'f.json')


def test_file_names_of_another_count_name_the_file():
    category = {'keypoints': ['a', 'b']}
    with pytest.raises(KeypointLayoutError, match='f.json: categories\\[0\\].keypoints has 2 joints but '
                                                  'DATASET.NUM_JOINTS gives 3'):
        build_layout('coco_kpt', 3, False, _keypoints(OKS_SIGMAS=SIGMAS3), False, category, 'f.json')
