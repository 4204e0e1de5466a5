"""The near-tie helper of the fixture comparisons (tests/near_ties.py), on the tie that was found.

Regression case, setting a (flip test, one scale), COCO image 196141, person 3 of the image (record 16 of
the results file), joint 4 (right ear): refine fills that joint in. At pixel (y, x) = (213, 323) its tag
distance to the person's mean tag is 0.5000003 on AVX2 machines (and with 1 thread everywhere), so
`np.round` gives 1 and pixel (212, 323) wins, as in the fixture. With 2 threads on AVX-512 / AMX CPUs
oneDNN's kernels give 0.49999988, `np.round` gives 0 and (213, 323) wins: the joint moves by 1.676 image
pixels, and the official code does exactly the same there. These tests recreate both machines' maps by
nudging that one tag value, and check that the helper accepts both and nothing that is not a tie.
"""
import json

import numpy as np
import pytest

from higherhrnet.codec import get_final_preds
from higherhrnet.codec.refinement import person_tag
from higherhrnet.predictor import Predictor

from near_ties import (MAP_NOISE, DecodedImage, assert_poses_match_official, decision_tolerance, decode_image,
                       decoded_from_maps, decoded_records)

pytestmark = pytest.mark.parity

IMAGE_ID, PERSON, JOINT, TIED_PIXEL = 196141, 3, 4, (213, 323)


@pytest.fixture(scope="module")
def predictor(shared):
    return Predictor(shared / "tiny" / "tiny_coco.yaml", shared / "tiny" / "tiny_coco.pth", device="cpu")


@pytest.fixture(scope="module")
def official(shared):
    records = json.loads((shared / "tiny" / "pipeline" / "a_flip_single_scale" /
                          "keypoints_val2017_results.json").read_text())
    return [record for record in records if record["image_id"] == IMAGE_ID]


@pytest.fixture(scope="module")
def decoded(shared, predictor):
    path = shared / "data" / "coco_sample" / "images" / "val2017" / f"{IMAGE_ID:012d}.jpg"
    return decode_image(predictor.pipeline, path)


def tie_distance(decoded):
    tau = person_tag(decoded.before_refine[PERSON], decoded.tags)
    return ((decoded.tags[JOINT][TIED_PIXEL] - tau) ** 2).sum() ** 0.5, tau


def other_machine(decoded):
    """The maps with the tied tag value nudged, one float32 ulp at a time, until np.round of its distance
    changes (what the other CPU kind computes). Returns (DecodedImage, how far the tag value moved)."""
    distance, tau = tie_distance(decoded)
    tags = decoded.tags.copy()
    value = tags[JOINT][TIED_PIXEL]
    component = int(np.argmax(np.abs(value - tau)))
    # away from tau raises the distance, toward tau lowers it: go to the other side of the boundary
    direction = np.sign(value[component] - tau[component]) * (1 if np.round(distance) == 0 else -1)
    original = float(value[component])
    for _ in range(1000):
        value[component] = np.nextafter(value[component], np.float32(direction * np.inf))
        if np.round(((value - tau) ** 2).sum() ** 0.5) != np.round(distance):
            break
    tags[JOINT][TIED_PIXEL] = value
    nudged = DecodedImage(decoded.det, tags, decoded.before_refine, decoded.center, decoded.scale,
                          decoded.heatmap_size)
    return nudged, abs(float(value[component]) - original)


def test_the_tie_sits_on_the_rounding_boundary(decoded):
    distance, _ = tie_distance(decoded)
    assert abs(distance - 0.5) <= decision_tolerance("refine_round", decoded.tags.shape[-1])
    assert abs(distance - 0.5) > 0  # not exactly 0.5: a machine decides it by its last bits


def test_both_machines_outcomes_are_accepted_and_only_that_joint_moves(predictor, decoded, official):
    settings = predictor.settings
    here = decoded_records(decoded, settings, IMAGE_ID)
    nudged, nudge = other_machine(decoded)
    there = decoded_records(nudged, settings, IMAGE_ID)
    assert nudge <= MAP_NOISE, nudge  # one tag value moved within the machines' noise flips the decision

    rows_here = [np.reshape(r["keypoints"], (-1, 3)) for r in here]
    rows_there = [np.reshape(r["keypoints"], (-1, 3)) for r in there]
    moved = [(p, j) for p in range(len(rows_here)) for j in range(17)
             if np.abs(rows_here[p][j] - rows_there[p][j]).max() > 1e-6]
    assert moved == [(PERSON, JOINT)]
    shift = np.hypot(*(rows_here[PERSON][JOINT, :2] - rows_there[PERSON][JOINT, :2]))
    assert shift == pytest.approx(1.676, abs=1e-3)

    ties_here = assert_poses_match_official(here, official, decode=lambda image_id: decoded, record=False)
    ties_there = assert_poses_match_official(there, official, decode=lambda image_id: nudged, record=False)
    # one of the two outcomes is the fixture's; the other is accepted as exactly this one tie
    ties = ties_here + ties_there
    assert len(ties) == 1 and (ties[0].image_id, ties[0].person, ties[0].joint) == (IMAGE_ID, PERSON, JOINT)
    assert ties[0].kind == "refine_round" and ties[0].shift_px == pytest.approx(1.676, abs=1e-3)
    assert ties[0].margin <= decision_tolerance("refine_round", 2)


def _shifted(records, person, joint, dx=0.0, dy=0.0, dvalue=0.0):
    changed = json.loads(json.dumps(records))
    keypoints = changed[person]["keypoints"]
    keypoints[3 * joint] += dx
    keypoints[3 * joint + 1] += dy
    keypoints[3 * joint + 2] += dvalue
    return changed


def _as_refine_would_fill(decoded, pixel):
    """(x, y, value) in image pixels of joint JOINT filled at heatmap `pixel` (y, x) (quarter steps included)."""
    heat = decoded.det[JOINT]
    y, x = pixel
    step_x = 0.25 if heat[y, min(x + 1, heat.shape[1] - 1)] > heat[y, max(x - 1, 0)] else -0.25
    step_y = 0.25 if heat[min(y + 1, heat.shape[0] - 1), x] > heat[max(y - 1, 0), x] else -0.25
    person = np.zeros((1, 17, 3), np.float32)
    person[0, JOINT] = (x + 0.5 + step_x, y + 0.5 + step_y, heat[y, x])
    return get_final_preds(person, decoded.center, decoded.scale, decoded.heatmap_size)[0][JOINT]


def _replaced(records, person, joint, row):
    changed = json.loads(json.dumps(records))
    changed[person]["keypoints"][3 * joint:3 * joint + 3] = [float(v) for v in row]
    return changed


def test_a_shifted_keypoint_that_is_not_a_tie_fails(predictor, decoded, official):
    here = decoded_records(decoded, predictor.settings, IMAGE_ID)
    detected = int(np.flatnonzero(decoded.before_refine[PERSON, :, 2] > 0)[0])
    pixel = 200 * decoded.scale[0] / decoded.heatmap_size[0]  # one heatmap pixel in image pixels
    step_y = decoded.before_refine[PERSON, detected, 1] % 1 - 0.5  # its quarter step, +-0.25
    near_tie = "no decision there is a near-tie"
    cases = [
        # the refined joint at the neighbouring pixels, as refine would fill it there: no tie decides those
        (_replaced(official, PERSON, JOINT, _as_refine_would_fill(decoded, (212, 324))), near_tie),
        (_replaced(official, PERSON, JOINT, _as_refine_would_fill(decoded, (211, 323))), near_tie),
        (_shifted(official, PERSON, JOINT, dx=pixel), "not the heatmap value"),           # value left behind
        (_shifted(official, PERSON, detected, dx=pixel), "grouping or top-k"),              # detected, 1 px
        (_shifted(official, PERSON, detected, dy=-2 * step_y * pixel), "not a near-tie"),   # other quarter step
        (_shifted(official, PERSON, detected, dvalue=1e-3), "value"),
        (_shifted(official, 0, 0, dx=0.01), "yet the records differ"),                    # sub-pixel
    ]
    for fixture, message in cases:
        with pytest.raises(AssertionError, match=message):
            assert_poses_match_official(here, fixture, decode=lambda image_id: decoded, record=False)
    changed_score = json.loads(json.dumps(official))
    changed_score[0]["score"] += 1e-3
    with pytest.raises(AssertionError):
        assert_poses_match_official(here, changed_score, decode=lambda image_id: decoded, record=False)


def test_an_adjust_step_tie_is_accepted_and_reported(predictor, decoded):
    """A detected joint whose left and right neighbours are equal (step -0.25) or one ulp apart (+0.25)."""
    settings = predictor.settings
    joint = int(np.flatnonzero(decoded.before_refine[PERSON, :, 2] > 0)[0])
    x, y = (int(v) for v in decoded.before_refine[PERSON, joint, :2])
    det_equal, det_above = decoded.det.copy(), decoded.det.copy()
    det_equal[joint, y, x + 1] = det_equal[joint, y, x - 1]
    det_above[joint, y, x + 1] = np.nextafter(det_equal[joint, y, x - 1], np.float32(np.inf))

    def world(det):
        return decoded_from_maps(det[None], decoded.tags[None], decoded.center, decoded.scale, settings)

    equal, above = world(det_equal), world(det_above)
    ties = assert_poses_match_official(decoded_records(above, settings, IMAGE_ID),
                                       decoded_records(equal, settings, IMAGE_ID), decode=lambda image_id: above, record=False)
    assert [(t.person, t.joint, t.kind) for t in ties] == [(PERSON, joint, "adjust_step")]
    assert ties[0].margin_ulps == pytest.approx(1.0)
