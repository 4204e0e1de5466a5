"""Pose comparisons against the official fixtures that accept a difference only at a proven float near-tie.

The fixtures were made by the official code on one machine. On another CPU, or with another thread count,
oneDNN's kernels give network outputs that differ in the last bits (the fixtures measured up to 1.4e-6
between 1 and 2 threads). Wherever the official algorithm takes a discrete decision on a float, such a
difference can flip the decision when the float sits on the decision boundary, and then the official
code itself gives another pose on that machine. `assert_poses_match_official` accepts a differing joint
only when it proves, on the maps this run actually decoded, that:

1. the joint differs through one decision of the kinds below, and its margin (the distance of the decided
   float from the boundary) is within `decision_tolerance` of the boundary, a bound of what noise of
   `MAP_NOISE` per map value can move;
2. the other outcome of that decision yields the fixture's joint exactly (its pixel, quarter steps,
   heatmap value and image coordinates), so nothing else may differ.

Decisions recognised (all inside refine and adjust, the only ones a ~1e-6 noise has been seen to flip):
- `refine_round`: refine's `np.round(||tag - tau||)` at a pixel whose distance is near n + 0.5;
- `refine_argmax`: refine's argmax between two pixels whose scores are nearly equal;
- `adjust_step`: the quarter-pixel step of adjust (or of a refined joint), `right > left` with
  right and left nearly equal.
A difference anywhere else (another grouping, another person, another score) is never accepted.

Accepted ties are collected in `ACCEPTED` and printed at the end of the test session (tests/conftest.py).
"""
import dataclasses
from dataclasses import dataclass

import numpy as np

from higherhrnet.codec import get_final_preds, parse
from higherhrnet.codec.refinement import person_tag
from higherhrnet.data.image_io import read_image_rgb
from higherhrnet.engine.inference import prepare
from higherhrnet.geometry import affine_transform, get_affine_transform

# Bound of how far one aggregated map value may move between machines and thread counts. The fixtures
# measured at most 1.4e-6 (tags) between 1 and 2 threads; this leaves a margin above that.
MAP_NOISE = 2e-6
# Tolerances of the exact comparison (fixtures' tolerances: coordinates ~1e-3 px, values ~1e-5).
COORD_ATOL, VALUE_ATOL, SCORE_ATOL = 1e-3, 1e-5, 1e-5

ACCEPTED = []


@dataclass
class NearTie:
    """One accepted difference: where, which decision, how close to its boundary, how far the joint moved."""
    image_id: int
    person: int
    joint: int
    kind: str
    margin: float          # distance of the decided float from its boundary
    margin_ulps: float     # the same in float32 ulps of the decided value
    shift_px: float        # distance in image pixels between our joint and the fixture's

    def __str__(self):
        return (f"image {self.image_id} person {self.person} joint {self.joint}: {self.kind} tie, margin "
                f"{self.margin:.3g} ({self.margin_ulps:.1f} float32 ulps), joint moved {self.shift_px:.3f} px")


@dataclass
class DecodedImage:
    """What the decoder saw for one image, to re-examine its decisions.

    det (J, H, W) float32 and tags (J, H, W, T) float32: the aggregated maps at the base size;
    before_refine (P, J, 3 + T) float32: persons after adjust, before refine, in heatmap pixels;
    center (2,), scale (2,), heatmap_size (W, H): the back-projection geometry.
    """
    det: np.ndarray
    tags: np.ndarray
    before_refine: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    heatmap_size: tuple


def decode_image(pipeline, image_or_path):
    """DecodedImage of one image through a `engine.inference.PosePipeline` (e.g. `Predictor.pipeline`)."""
    image = read_image_rgb(image_or_path) if not isinstance(image_or_path, np.ndarray) else image_or_path
    prepared = prepare(image, pipeline.settings)
    maps = {}
    pipeline.run_prepared(prepared, maps=maps)
    return decoded_from_maps(maps["heatmaps"], maps["tags"], prepared.center, prepared.scale, pipeline.settings)


def decoded_from_maps(heatmaps, tags, center, scale, settings):
    """DecodedImage from decoder inputs heatmaps (1, J, H, W) and tags (1, J, H, W, T) (tensors or arrays)."""
    det, tag_maps = np.asarray(heatmaps)[0], np.asarray(tags)[0]
    (before,), _ = parse(heatmaps, tags, dataclasses.replace(settings.decoder, refine=False))
    return DecodedImage(det, tag_maps, before, np.asarray(center), np.asarray(scale), (det.shape[2], det.shape[1]))


def decoded_records(decoded, settings, image_id):
    """The results records (image_id, keypoints, score) the full decoder gives for a DecodedImage."""
    (persons,), scores = parse(decoded.det[None], decoded.tags[None], settings.decoder)
    final = get_final_preds(persons, decoded.center, decoded.scale, decoded.heatmap_size)
    return [{"image_id": image_id, "keypoints": person[:, :3].reshape(-1).tolist(), "score": float(score)}
            for person, score in zip(final, scores)]


def decision_tolerance(kind, tag_dim):
    """Largest margin a noise of MAP_NOISE per map value can overcome, for a decision of `kind`.

    refine_round: the distance ||tag - tau|| moves by at most sqrt(T) * 2 * MAP_NOISE (tag and mean tag each
    move by MAP_NOISE per component); refine_argmax and adjust_step compare two map values, each moving by
    MAP_NOISE.
    """
    if kind == "refine_round":
        return 2 * np.sqrt(tag_dim) * MAP_NOISE
    return 2 * MAP_NOISE


def _ulps(margin, value):
    return float(margin / np.spacing(np.float32(abs(value)) if value else np.float32(1e-38)))


def _tag_distance(tags, tau):
    """The official refine distance map ((tags - tau) ** 2).sum(axis=2) ** 0.5, float32 (H, W)."""
    return ((tags - tau[None, None, :]) ** 2).sum(axis=2) ** 0.5


def _steps(heat, y, x):
    """The official quarter steps at pixel (y, x) of heat (H, W), and the two comparisons' margins."""
    height, width = heat.shape
    right, left = heat[y, min(x + 1, width - 1)], heat[y, max(x - 1, 0)]
    below, above = heat[min(y + 1, height - 1), x], heat[max(y - 1, 0), x]
    return ((0.25 if right > left else -0.25), (0.25 if below > above else -0.25),
            (abs(float(right) - float(left)), right), (abs(float(below) - float(above)), below))


def _to_heatmap_pixels(point_xy, decoded):
    """Image-pixel (x, y) -> heatmap coordinates, through the forward map of the back-projection."""
    matrix = get_affine_transform(decoded.center, decoded.scale, 0, decoded.heatmap_size)
    return affine_transform(point_xy, matrix)


def _to_image(point_xy, decoded):
    matrix = get_affine_transform(decoded.center, decoded.scale, 0, decoded.heatmap_size, inv=True)
    return affine_transform(point_xy, matrix)


class _Unexplained(AssertionError):
    pass


def _explain_steps(decoded, joint, pixel, official_hm):
    """The fixture's quarter steps at `pixel` (y, x) against ours: [] if equal, else the adjust ties needed."""
    y, x = pixel
    step_x, step_y, margin_x, margin_y = _steps(decoded.det[joint], y, x)
    wanted_x, wanted_y = official_hm[0] - (x + 0.5), official_hm[1] - (y + 0.5)
    ties = []
    for ours, wanted, (margin, value) in ((step_x, wanted_x, margin_x), (step_y, wanted_y, margin_y)):
        if abs(ours - wanted) < 1e-2:
            continue
        if abs(abs(wanted) - 0.25) > 1e-2 or margin > decision_tolerance("adjust_step", 1):
            raise _Unexplained(f"quarter step {ours:+} here, {wanted:+.3f} in the fixture; the comparison's margin "
                               f"{margin:.3g} is not a near-tie")
        ties.append(("adjust_step", margin, _ulps(margin, value)))
    return ties


def _explain_refined(decoded, person, joint, official_row):
    """The ties that turn refine's choice for (person, joint) into the fixture's; raises _Unexplained."""
    heat, tags = decoded.det[joint], decoded.tags[joint]
    tau = person_tag(decoded.before_refine[person], decoded.tags)
    distance = _tag_distance(tags, tau)
    rounded = np.round(distance)
    score = heat - rounded
    ours = np.unravel_index(int(np.argmax(score)), score.shape)
    official_hm = _to_heatmap_pixels(official_row[:2], decoded)
    theirs = (int(round(official_hm[1] - 0.5)), int(round(official_hm[0] - 0.5)))
    if not (0 <= theirs[0] < heat.shape[0] and 0 <= theirs[1] < heat.shape[1]):
        raise _Unexplained(f"the fixture's joint lies outside the heatmap (pixel {theirs})")
    if abs(float(heat[theirs]) - official_row[2]) > VALUE_ATOL:
        raise _Unexplained(f"the fixture's value {official_row[2]:.6g} is not the heatmap value "
                           f"{float(heat[theirs]):.6g} at its pixel {theirs}")
    ties = []
    if theirs != ours:
        tolerance_round = decision_tolerance("refine_round", tags.shape[-1])
        explanation = None
        for pixel in (theirs, ours):
            d = float(distance[pixel])
            margin = abs(d - (np.floor(d) + 0.5))
            if margin > tolerance_round:
                continue
            other_rounding = rounded[pixel] + (-1.0 if rounded[pixel] > d else 1.0)
            changed = score.copy()
            changed[pixel] = heat[pixel] - np.float32(other_rounding)
            if np.unravel_index(int(np.argmax(changed)), score.shape) == theirs:
                explanation = ("refine_round", margin, _ulps(margin, distance[pixel]))
                break
        if explanation is None and rounded[theirs] == rounded[ours]:
            margin = float(score[ours]) - float(score[theirs])
            second = score.copy()
            second[ours] = -np.inf
            if (margin <= decision_tolerance("refine_argmax", 1)
                    and np.unravel_index(int(np.argmax(second)), score.shape) == theirs):
                explanation = ("refine_argmax", margin, _ulps(margin, score[ours]))
        if explanation is None:
            raise _Unexplained(f"refine chose pixel {ours} (score {float(score[ours]):.6g}), the fixture pixel "
                               f"{theirs} (score {float(score[theirs]):.6g}, tag distance "
                               f"{float(distance[theirs]):.9g}): no decision there is a near-tie")
        ties.append(explanation)
    ties += _explain_steps(decoded, joint, theirs, official_hm)
    return ties


def _explain_detected(decoded, person, joint, official_row):
    """The ties that turn a detected joint (adjusted, not refined) into the fixture's; raises _Unexplained."""
    row = decoded.before_refine[person, joint]
    pixel = (int(row[1]), int(row[0]))
    official_hm = _to_heatmap_pixels(official_row[:2], decoded)
    theirs = (int(round(official_hm[1] - 0.5)), int(round(official_hm[0] - 0.5)))
    if theirs != pixel:
        raise _Unexplained(f"a detected joint at pixel {pixel} here and {theirs} in the fixture: a grouping or "
                           "top-k difference, which this helper never accepts")
    if abs(float(row[2]) - official_row[2]) > VALUE_ATOL:
        raise _Unexplained(f"value {float(row[2]):.6g} here, {official_row[2]:.6g} in the fixture")
    return _explain_steps(decoded, joint, pixel, official_hm)


def explain_joint(decoded, image_id, person, joint, ours_row, official_row):
    """NearTie list that proves why our joint (x, y, value in image pixels) differs from the fixture's.

    Raises AssertionError when the difference is not a near-tie of a recognised decision.
    """
    if decoded.before_refine[person, joint, 2] > 0:
        ties = _explain_detected(decoded, person, joint, official_row)
    else:
        ties = _explain_refined(decoded, person, joint, official_row)
    if not ties:
        raise _Unexplained("the fixture's joint is what the decoder gives here, yet the records differ")
    shift = float(np.hypot(*(np.asarray(ours_row[:2]) - np.asarray(official_row[:2]))))
    return [NearTie(image_id, person, joint, kind, float(margin), ulps, shift) for kind, margin, ulps in ties]


def _rows(record):
    return np.reshape(np.asarray(record["keypoints"], dtype=np.float64), (-1, 3))


def decoder_of_images(pipeline, image_paths):
    """decode(image_id) for `assert_poses_match_official`: image_paths {image_id: path}, one PosePipeline."""
    return lambda image_id: decode_image(pipeline, image_paths[image_id])


def assert_poses_match_official(records, official, decode, record=True):
    """Our results records equal the official ones, or differ only at proven near-ties (returned).

    records / official: results records (image_id, keypoints [x1, y1, s1, ...], score) in the same order;
    decode(image_id) -> DecodedImage: the maps our run decoded for that image (called only for an image
    with a difference). Person scores must always agree (they are taken before refine).
    record: add the accepted ties to ACCEPTED (reported at the end of the session).
    """
    assert len(records) == len(official), f"{len(records)} persons, the fixture has {len(official)}"
    ties, decoded_images, person_in_image = [], {}, {}
    for ours, theirs in zip(records, official):
        image_id = theirs["image_id"]
        assert ours["image_id"] == image_id, (ours["image_id"], image_id)
        person = person_in_image[image_id] = person_in_image.get(image_id, -1) + 1
        assert abs(ours["score"] - theirs["score"]) <= SCORE_ATOL, (image_id, person, ours["score"], theirs["score"])
        mine, expected = _rows(ours), _rows(theirs)
        assert mine.shape == expected.shape, (image_id, person, mine.shape, expected.shape)
        differs = ((np.abs(mine[:, :2] - expected[:, :2]).max(axis=1) > COORD_ATOL)
                   | (np.abs(mine[:, 2] - expected[:, 2]) > VALUE_ATOL))
        for joint in np.flatnonzero(differs):
            if image_id not in decoded_images:
                decoded_images[image_id] = decode(image_id)
            where = (f"image {image_id} person {person} joint {joint}: ours {mine[joint].tolist()}, "
                     f"fixture {expected[joint].tolist()}")
            try:
                ties += explain_joint(decoded_images[image_id], image_id, person, int(joint), mine[joint],
                                      expected[joint])
            except _Unexplained as error:
                raise AssertionError(f"{where}: {error}") from None
    if record:
        ACCEPTED.extend(ties)
    return ties
