"""Pictures: skeletons drawn on test images and the training debug grids of heatmaps and tag maps (algorithm.md §9.4).

Conventions: images are uint8 (H, W, 3) NumPy arrays; drawing functions work in OpenCV's BGR order.
Persons are (P, J, C) arrays (or lists of (J, C) arrays), C >= 3: x (column), y (row) in image pixels, joint
score. Points are truncated toward zero to integer pixels (`int(x)`), as the official code does.
"""
import os

import cv2
import numpy as np

from higherhrnet.keypoints import skeleton

# Official style: circle radius 1 / thickness 2 on every joint with score > 0, lines of thickness 2.
OFFICIAL_JOINT_RADIUS = 1
OFFICIAL_THICKNESS = 2
# Pictures for people (demo, TensorBoard validation pictures): persons and joints scoring below this are not
# drawn (the official decoder returns many near-zero persons); results files keep them all.
DRAW_MIN_SCORE = 0.1


def random_person_colors(num_persons, rng=None):
    """One BGR colour per person, each `randint(0, 255, size=3)` (high exclusive) drawn in person order.

    rng None uses the global NumPy RNG as the official code does; a np.random.Generator uses `integers`.
    """
    colors = []
    for _ in range(num_persons):
        if rng is None:
            values = np.random.randint(0, 255, size=3)
        else:
            values = rng.integers(0, 255, size=3)
        colors.append(tuple(int(value) for value in values))
    return colors


def draw_skeletons(image_bgr, persons, skeleton_pairs, colors=None, rng=None, demo_style=False,
                   score_threshold=0.0):
    """Draw each person's joints and limbs on `image_bgr` in place (uint8 (H, W, 3)); returns the image.

    persons: (P, J, C) array or list of (J, C) arrays, C >= 3 (x, y, score).
    skeleton_pairs: (a, b) joint index pairs (`higherhrnet.keypoints.COCO_SKELETON` / `CROWDPOSE_SKELETON`);
    pairs naming a joint >= J are skipped.
    colors: one BGR tuple per person; None draws one random colour per person (`random_person_colors`).
    A joint is drawn when its score > score_threshold (official: 0); a limb when both its joints are.
    Official style (default), per person: every joint a circle of radius 1 and thickness 2, then every
    limb a line of thickness 2. demo_style: anti-aliased lines whose thickness grows with the image size,
    filled joint discs slightly wider than the lines.
    """
    if image_bgr.dtype != np.uint8 or image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise ValueError(f"image must be uint8 (H, W, 3), got {image_bgr.dtype} {image_bgr.shape}")
    if colors is None:
        colors = random_person_colors(len(persons), rng)
    if len(colors) != len(persons):
        raise ValueError(f"{len(colors)} colours for {len(persons)} persons")
    if demo_style:
        thickness = max(2, int(round(max(image_bgr.shape[:2]) / 250)))
        joint_radius, joint_thickness, line_type = thickness + 1, cv2.FILLED, cv2.LINE_AA
    else:
        thickness = OFFICIAL_THICKNESS
        joint_radius, joint_thickness, line_type = OFFICIAL_JOINT_RADIUS, OFFICIAL_THICKNESS, cv2.LINE_8
    for person, color in zip(persons, colors):
        joints = np.asarray(person)
        if joints.ndim != 2 or joints.shape[1] < 3:
            raise ValueError(f"a person must be a (J, >=3) array (x, y, score, ...), got shape {joints.shape}")
        color = tuple(int(value) for value in color)
        visible = joints[:, 2] > score_threshold
        for joint, is_visible in zip(joints, visible):
            if is_visible:
                center = (int(joint[0]), int(joint[1]))
                cv2.circle(image_bgr, center, joint_radius, color, joint_thickness, line_type)
        for joint_a, joint_b in skeleton_pairs:
            if joint_a >= len(joints) or joint_b >= len(joints):
                continue
            if visible[joint_a] and visible[joint_b]:
                point_a = (int(joints[joint_a, 0]), int(joints[joint_a, 1]))
                point_b = (int(joints[joint_b, 0]), int(joints[joint_b, 1]))
                cv2.line(image_bgr, point_a, point_b, color, thickness, line_type)
    return image_bgr


def valid_picture_path(final_output_dir, image_index):
    """`<final_output_dir>/result_valid_<image_index>.jpg`, the name valid.py uses every PRINT_FREQ images."""
    return os.path.join(final_output_dir, f"result_valid_{image_index}.jpg")


def save_valid_picture(path, image_rgb, persons, num_joints, rng=None, demo_style=False, score_threshold=0.0,
                       skeleton_pairs=None):
    """Write a test picture: the RGB image as BGR with every person drawn (official style by default).

    image_rgb: uint8 (H, W, 3) RGB (not modified). persons: (P, J, C) as for `draw_skeletons`.
    num_joints: picks the skeleton (17/18 COCO, 14/15 CrowdPose) unless skeleton_pairs (a keypoint
    layout's limbs) is given. Returns the drawn BGR image.
    """
    image_bgr = np.ascontiguousarray(image_rgb[:, :, ::-1])
    limbs = skeleton(num_joints) if skeleton_pairs is None else skeleton_pairs
    draw_skeletons(image_bgr, persons, limbs, rng=rng, demo_style=demo_style, score_threshold=score_threshold)
    write_picture(path, image_bgr)
    return image_bgr


def write_picture(path, image_bgr):
    """cv2.imwrite with a one-line error when it fails (unknown extension, missing folder, ...)."""
    try:
        written = cv2.imwrite(os.fspath(path), image_bgr)
    except cv2.error as error:
        raise OSError(f"{path}: cannot write picture ({str(error).strip().splitlines()[-1]})") from None
    if not written:
        raise OSError(f"{path}: cannot write picture (missing folder or unsupported extension)")


def heatmap_row(image, heatmaps):
    """One grid row: the image, then one picture per heatmap. Returns uint8 (H, (J + 1) * W, 3).

    image: uint8 (H0, W0, 3), resized (bilinear) to the map size (H, W) for column 0 and the blend.
    heatmaps: float (J, H, W); each map is `map * 255` clamped to [0, 255] and truncated to uint8, coloured
    with the JET colormap and blended 0.7 * map + 0.3 * image (truncated to uint8).
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    maps_uint8 = np.clip(heatmaps * 255, 0, 255).astype(np.uint8)
    return _blended_row(image, maps_uint8, map_weight=0.7, image_weight=0.3)


def tagmap_row(image, tag_maps):
    """One grid row of tag maps: like `heatmap_row`, but every map is min-max normalised on its own
    (`(t - min) / (max - min + 1e-5) * 255`) and blended 0.9 * map + 0.1 * image.

    tag_maps: float (J, H, W) (one map per joint, the first tag dimension).
    """
    tag_maps = np.asarray(tag_maps, dtype=np.float32)
    maps_uint8 = np.empty(tag_maps.shape, dtype=np.uint8)
    for index, tag_map in enumerate(tag_maps):
        low, high = float(tag_map.min()), float(tag_map.max())
        normalised = (tag_map - low) / (high - low + 1e-5)
        maps_uint8[index] = np.clip(normalised * 255, 0, 255).astype(np.uint8)
    return _blended_row(image, maps_uint8, map_weight=0.9, image_weight=0.1)


def label_columns(row, labels):
    """Write labels[k] at the top left of column k of a `heatmap_row` / `tagmap_row` picture, in place.

    row: uint8 (H, len(labels) * W, 3); labels: e.g. ('image', 'nose', 'left_eye', ...). Returns row.
    """
    width = row.shape[1] // max(len(labels), 1)
    scale = max(0.3, min(0.5, width / 200))
    for index, label in enumerate(labels):
        origin = (index * width + 3, int(14 * scale / 0.5))
        for color, thickness in (((0, 0, 0), 3), ((255, 255, 255), 1)):  # white on a black outline
            cv2.putText(row, str(label), origin, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA)
    return row


def _blended_row(image, maps_uint8, map_weight, image_weight):
    num_maps, height, width = maps_uint8.shape
    image_resized = cv2.resize(image, (int(width), int(height)))
    row = np.zeros((height, (num_maps + 1) * width, 3), dtype=np.uint8)
    row[:, :width] = image_resized
    for index, map_uint8 in enumerate(maps_uint8):
        colored = cv2.applyColorMap(map_uint8, cv2.COLORMAP_JET)
        fused = colored * map_weight + image_resized * image_weight
        row[:, (index + 1) * width:(index + 2) * width] = fused.astype(np.uint8)
    return row


def batch_maps_grid(batch_images, batch_maps, batch_masks=None, map_type="heatmap", normalize=True):
    """Training debug grid: one row per batch image, column 0 the input, then one column per map.

    batch_images: float (B, 3, H0, W0), the network inputs; with `normalize` min-max normalised over the
    whole batch (`(x - min) / (max - min + 1e-5)`), then `* 255` clamped and truncated to uint8. The channel
    order is kept as given (the official code passes RGB inputs to a BGR writer).
    batch_maps: float (B, J, H, W) heatmaps (map_type 'heatmap') or tag maps ('tagmap').
    batch_masks: optional (B, H, W) masks; column 0 is multiplied by the mask truncated to uint8.
    Returns uint8 (B * H, (J + 1) * W, 3).
    """
    if map_type not in ("heatmap", "tagmap"):
        raise ValueError(f"map_type {map_type!r}: expected 'heatmap' or 'tagmap'")
    batch_images = np.asarray(batch_images, dtype=np.float32)
    batch_maps = np.asarray(batch_maps, dtype=np.float32)
    if normalize:
        low, high = float(batch_images.min()), float(batch_images.max())
        batch_images = (batch_images - low) / (high - low + 1e-5)
    batch_size, num_maps, height, width = batch_maps.shape
    grid = np.zeros((batch_size * height, (num_maps + 1) * width, 3), dtype=np.uint8)
    make_row = heatmap_row if map_type == "heatmap" else tagmap_row
    for index in range(batch_size):
        image = np.clip(batch_images[index] * 255, 0, 255).astype(np.uint8).transpose(1, 2, 0)
        rows = slice(index * height, (index + 1) * height)
        grid[rows] = make_row(np.ascontiguousarray(image), batch_maps[index])
        if batch_masks is not None:
            mask = np.asarray(batch_masks[index]).astype(np.uint8)[:, :, None]
            grid[rows, :width] = grid[rows, :width] * mask
    return grid


def save_batch_maps(path, batch_images, batch_maps, batch_masks=None, map_type="heatmap", normalize=True):
    """Write `batch_maps_grid(...)` to `path` (e.g. '<prefix>_hm_pred.jpg'); returns the grid."""
    grid = batch_maps_grid(batch_images, batch_maps, batch_masks, map_type, normalize)
    write_picture(path, grid)
    return grid
