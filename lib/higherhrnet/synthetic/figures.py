"""Articulated mannequin figures for the synthetic dataset: posing, projection and dressing.

A figure is posed in its own 3D frame (poses.py: x = the figure's LEFT, y = down, z = the way it faces; unit =
standing height), turned about the vertical axis by a yaw, rolled in the image plane and projected
orthographically. Yaw 0 faces the camera, so the figure's left side appears on the image right, as with a
real person. The result, `Figure`, is a list of drawing primitives that figure_drawing.py draws.

Image coordinates are OpenCV drawing coordinates: (x, y) = (column, row), pixel centres at integers.
Camera frame: x right, y down, z towards the camera; a larger depth is nearer and is drawn later.

Drawing convention that makes the task learnable: every limb segment has its own hue, warm on the LEFT
(red/orange arm, magenta/yellow leg) and cool on the RIGHT (blue/cyan arm, violet/teal leg), whatever way the
figure faces; only brightness and saturation vary per person (side_colours=False paints both sides like
the left, for training with mirror flips). Joints are marked by darker balls, the face by eyes, a nose and
side-coloured ears, drawn only where the head's 3D normal faces the camera. Colours are BGR tuples of ints.
"""
import colorsys
import math
from dataclasses import dataclass, field

import numpy as np

from .poses import limb_segments, rotation_x, rotation_y, rotation_z, sample_pose, unit_vector

# Part codes inside one figure's owner code (see figure_drawing.draw_figure); all < PARTS_PER_FIGURE.
TORSO, HEAD, NECK = 1, 2, 3
L_UPPER_ARM, L_FOREARM, L_HAND, R_UPPER_ARM, R_FOREARM, R_HAND = 4, 5, 6, 7, 8, 9
L_THIGH, L_SHIN, L_FOOT, R_THIGH, R_SHIN, R_FOOT = 10, 11, 12, 13, 14, 15
PARTS_PER_FIGURE = 16

# For each COCO joint, the parts it may be seen on: a joint covered by any other part (of this figure or of
# anything else) is occluded (v = 1).
KEYPOINT_PARTS = (
    {HEAD}, {HEAD}, {HEAD}, {HEAD}, {HEAD},
    {TORSO, L_UPPER_ARM}, {TORSO, R_UPPER_ARM},
    {L_UPPER_ARM, L_FOREARM}, {R_UPPER_ARM, R_FOREARM},
    {L_FOREARM, L_HAND}, {R_FOREARM, R_HAND},
    {TORSO, L_THIGH}, {TORSO, R_THIGH},
    {L_THIGH, L_SHIN}, {R_THIGH, R_SHIN},
    {L_SHIN, L_FOOT}, {R_SHIN, R_FOOT},
)

# Body proportions in units of standing height (a slightly big head keeps the face points apart).
HEAD_RADIUS = 0.072
NECK_LENGTH = 0.03
TORSO_LENGTH = 0.29          # pelvis centre to the shoulder line
SHOULDER_HALF = 0.11
HIP_HALF = 0.07
CHEST_HALF_DEPTH = 0.065     # half the torso's thickness, seen in a side view
UPPER_ARM, FOREARM, HAND_RADIUS = 0.165, 0.145, 0.03
THIGH, SHIN, FOOT = 0.235, 0.225, 0.075
ARM_RADIUS, LEG_RADIUS = 0.028, 0.037

# Segment hues in degrees, (upper, lower) per limb: warm on the left, cool on the right.
LIMB_HUES = {
    (L_UPPER_ARM, L_FOREARM): (2, 30), (R_UPPER_ARM, R_FOREARM): (222, 192),
    (L_THIGH, L_SHIN): (325, 50), (R_THIGH, R_SHIN): (262, 165),
}
LEFT_EAR_HUE, RIGHT_EAR_HUE = 15, 205
MIRRORED_LIMBS = {R_UPPER_ARM: (L_UPPER_ARM, L_FOREARM), R_THIGH: (L_THIGH, L_SHIN)}
SKIN_TONES = ((224, 196, 170), (198, 160, 128), (160, 118, 88), (120, 84, 60), (236, 210, 190))   # RGB
HAIR_COLOURS = ((30, 25, 20), (90, 60, 35), (200, 170, 100), (150, 150, 150), (140, 60, 30))      # RGB

# Face marks on the unit head sphere: (azimuth towards the figure's left, elevation up), degrees.
NOSE_DIRECTION = (0.0, -10.0)
EYE_DIRECTIONS = ((32.0, 12.0), (-32.0, 12.0))       # left, right
EAR_DIRECTIONS = ((84.0, -2.0), (-84.0, -2.0))       # left, right
# Camera-facing component of the head normal above which a face point is drawn and labelled (nose, eyes,
# ears): the nose and the ears stick out, so they stay visible a little past the head's silhouette.
FACE_VISIBLE_MIN = (-0.1, 0.2, 0.2, -0.2, -0.2)


@dataclass
class Figure:
    """A posed figure in image coordinates.

    keypoints: (17, 2) float (x, y) of the COCO joints; labelled: (17,) bool, False for face points turned
    away from the camera; parts: drawing primitives, back to front; box: (x0, y0, x1, y1) of the drawing.
    """
    keypoints: np.ndarray
    labelled: np.ndarray
    parts: list = field(default_factory=list)
    box: tuple = (0.0, 0.0, 0.0, 0.0)

    def shifted(self, dx, dy):
        """A copy moved by (dx, dy) pixels."""
        shift = np.array([dx, dy])
        x0, y0, x1, y1 = self.box
        return Figure(self.keypoints + shift, self.labelled, [part.moved(shift) for part in self.parts],
                      (x0 + dx, y0 + dy, x1 + dx, y1 + dy))


@dataclass
class Part:
    """One drawing primitive. kind: 'capsule' (points p0, p1), 'ball' (p0), 'polygon' (points) or 'head' (p0).
    colour / outline: BGR; radius in pixels; head: (3, 3) rotation head frame -> camera plus its colours."""
    part_id: int
    kind: str
    depth: float
    points: np.ndarray
    radius: float = 0.0
    colour: tuple = (0, 0, 0)
    outline: tuple = (0, 0, 0)
    head: dict = None

    def moved(self, shift):
        head = None if self.head is None else {**self.head, "face": self.head["face"] + shift}
        return Part(self.part_id, self.kind, self.depth, self.points + shift, self.radius, self.colour,
                    self.outline, head)


def _bgr(hue_deg, saturation, value):
    """BGR colour (0..255 ints) of an HSV colour: hue in degrees, saturation and value in 0..1."""
    r, g, b = colorsys.hsv_to_rgb((hue_deg % 360) / 360.0, saturation, value)
    return (round(b * 255), round(g * 255), round(r * 255))


def scaled_colour(bgr, factor):
    """A BGR colour with every channel multiplied by `factor`, rounded and capped at 255."""
    return (min(255, int(bgr[0] * factor + 0.5)), min(255, int(bgr[1] * factor + 0.5)),
            min(255, int(bgr[2] * factor + 0.5)))


def sample_palette(rng, side_colours=True):
    """Per-person colours: fixed hue per limb segment and side, jittered brightness; random shirt, skin, hair.

    side_colours=False paints the right limbs and ear like the left ones, so that only the figure's geometry
    (face, facing direction) tells left from right: the labels then stay consistent under a mirror flip.
    """
    saturation = rng.uniform(0.65, 1.0)
    value = rng.uniform(0.7, 1.0)
    palette = {}
    for (upper, lower), (hue_upper, hue_lower) in LIMB_HUES.items():
        jitter = rng.uniform(-8, 8)
        if not side_colours and upper in MIRRORED_LIMBS:
            hue_upper, hue_lower = LIMB_HUES[MIRRORED_LIMBS[upper]]
        palette[upper] = _bgr(hue_upper + jitter, saturation, value * 0.85)
        palette[lower] = _bgr(hue_lower + jitter, saturation, value)
    palette["shirt"] = _bgr(rng.uniform(0, 360), rng.uniform(0.1, 0.55), rng.uniform(0.3, 0.95))
    palette["shoe"] = _bgr(rng.uniform(0, 360), rng.uniform(0, 0.4), rng.uniform(0.1, 0.35))
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))]
    hair = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))]
    palette["skin"] = (skin[2], skin[1], skin[0])
    palette["hair"] = (hair[2], hair[1], hair[0])
    palette["left_ear"] = _bgr(LEFT_EAR_HUE, 0.9, 0.95)
    palette["right_ear"] = _bgr(RIGHT_EAR_HUE if side_colours else LEFT_EAR_HUE, 0.9, 0.95)
    return palette


def _sphere_point(azimuth, elevation):
    a, e = math.radians(azimuth), math.radians(elevation)
    return np.array([math.sin(a) * math.cos(e), -math.sin(e), math.cos(a) * math.cos(e)])


def build_figure(rng, height_px, pose=None, side_colours=True):
    """Pose, project and dress one figure of standing height `height_px`, pelvis at the image origin.
    pose: a Pose, or None for a random one; side_colours: see `sample_palette`."""
    pose = pose or sample_pose(rng)
    palette = sample_palette(rng, side_colours)
    build = rng.uniform(0.85, 1.2)                   # thickness and width
    lengths = rng.uniform(0.95, 1.05, size=3)       # arms, legs, torso
    head_radius = HEAD_RADIUS * rng.uniform(0.92, 1.1)

    pelvis_frame = np.eye(3)
    torso_frame = rotation_z(pose.side_bend) @ rotation_x(-pose.lean)   # lean tilts the spine forward (+z)
    chest_frame = torso_frame @ rotation_y(pose.twist)
    head_frame = (chest_frame @ rotation_y(pose.head_turn) @ rotation_x(pose.head_nod)
                  @ rotation_z(pose.head_tilt))

    up = torso_frame @ np.array([0.0, -1.0, 0.0])
    neck = up * TORSO_LENGTH * lengths[2]
    head_centre = neck + chest_frame @ np.array([0.0, -1.0, 0.0]) * (NECK_LENGTH + head_radius)
    joints = {}
    for side, name in ((1, "left"), (-1, "right")):
        i = 0 if side == 1 else 1
        shoulder = neck + chest_frame @ np.array([side * SHOULDER_HALF * build, 0.01, 0.0])
        upper, lower = limb_segments(chest_frame, side, pose.arm_abduction[i], pose.arm_swing[i],
                                     pose.elbow_bend[i], pose.elbow_twist[i], UPPER_ARM * lengths[0],
                                     FOREARM * lengths[0], True)
        joints[name + "_shoulder"] = shoulder
        joints[name + "_elbow"] = shoulder + upper
        joints[name + "_wrist"] = shoulder + upper + lower
        joints[name + "_hand"] = shoulder + upper + lower + unit_vector(lower) * HAND_RADIUS * 0.9
        hip = pelvis_frame @ np.array([side * HIP_HALF * build, 0.0, 0.0])
        upper, lower = limb_segments(pelvis_frame, side, pose.leg_abduction[i], pose.leg_swing[i],
                                     pose.knee_bend[i], pose.knee_twist[i], THIGH * lengths[1], SHIN * lengths[1],
                                     False)
        joints[name + "_hip"] = hip
        joints[name + "_knee"] = hip + upper
        joints[name + "_ankle"] = hip + upper + lower
        shin = unit_vector(lower)
        forward = pelvis_frame @ np.array([0.0, 0.25, 1.0])
        foot = unit_vector(forward - 0.5 * (forward @ shin) * shin)    # forward, bent halfway off the shin
        joints[name + "_toe"] = joints[name + "_ankle"] + foot * FOOT

    camera = rotation_z(pose.roll) @ rotation_y(pose.yaw)
    head_to_camera = camera @ head_frame

    labelled_face = []
    for k, (azimuth, elevation) in enumerate((NOSE_DIRECTION,) + EYE_DIRECTIONS + EAR_DIRECTIONS):
        normal = head_to_camera @ _sphere_point(azimuth, elevation)
        joints[f"face{k}"] = head_centre + head_frame @ _sphere_point(azimuth, elevation) * head_radius
        labelled_face.append(bool(normal[2] > FACE_VISIBLE_MIN[k]))
    joints.update(neck=neck, head=head_centre, pelvis=np.zeros(3))

    names = list(joints)
    projected = np.array([joints[name] for name in names]) @ camera.T * height_px
    row = {name: i for i, name in enumerate(names)}

    def project(name):
        """(x, y) in pixels and depth in pixels (nearer is larger) of a named 3D point."""
        return projected[row[name], :2], projected[row[name], 2]

    body_names = ["left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                  "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]
    keypoints = projected[[row[f"face{k}"] for k in range(5)] + [row[n] for n in body_names], :2]
    labelled = np.array(labelled_face + [True] * len(body_names))

    parts = []
    arm_radius = ARM_RADIUS * build * height_px
    leg_radius = LEG_RADIUS * build * height_px
    outline_dark = 0.45
    for side, name in ((1, "left"), (-1, "right")):
        upper_arm, forearm, hand = (L_UPPER_ARM, L_FOREARM, L_HAND) if side == 1 else (R_UPPER_ARM, R_FOREARM, R_HAND)
        thigh, shin, foot = (L_THIGH, L_SHIN, L_FOOT) if side == 1 else (R_THIGH, R_SHIN, R_FOOT)
        chain = [(upper_arm, name + "_shoulder", name + "_elbow", arm_radius, 0.004),
                 (forearm, name + "_elbow", name + "_wrist", arm_radius * 0.88, 0.004),
                 (thigh, name + "_hip", name + "_knee", leg_radius, -0.004),
                 (shin, name + "_knee", name + "_ankle", leg_radius * 0.85, -0.002)]
        for part_id, start, end, radius, bias in chain:
            p0, d0 = project(start)
            p1, d1 = project(end)
            colour = palette[part_id]
            parts.append(Part(part_id, "capsule", (d0 + d1) / 2 / height_px + bias, np.array([p0, p1]), radius,
                              colour, scaled_colour(colour, outline_dark)))
            # A darker ball marks the joint where the segment starts; at the shoulders and hips it lies over
            # the torso unless the joint is turned away (then it stays behind).
            ball_colour = scaled_colour(colour, 0.62)
            on_torso = 0.012 if start.endswith(("shoulder", "hip")) else 0.001
            parts.append(Part(part_id, "ball", d0 / height_px + bias + on_torso, np.array([p0]), radius * 1.08,
                              ball_colour, scaled_colour(ball_colour, 0.6)))
        p_hand, d_hand = project(name + "_hand")
        parts.append(Part(hand, "ball", d_hand / height_px + 0.005, np.array([p_hand]),
                          HAND_RADIUS * height_px * build ** 0.5, palette["skin"],
                          scaled_colour(palette["skin"], 0.5)))
        p_ankle, d_ankle = project(name + "_ankle")
        p_toe, d_toe = project(name + "_toe")
        parts.append(Part(foot, "capsule", (d_ankle + d_toe) / 2 / height_px, np.array([p_ankle, p_toe]),
                          leg_radius * 0.75, palette["shoe"], scaled_colour(palette["shoe"], 0.5)))

    # Torso: a polygon through the shoulder and hip lines, as wide as an elliptic chest seen from this yaw.
    yaw = math.radians(pose.yaw + pose.twist)
    chest_half = height_px * math.hypot(SHOULDER_HALF * build * math.cos(yaw), CHEST_HALF_DEPTH * math.sin(yaw))
    yaw = math.radians(pose.yaw)
    hip_half = height_px * math.hypot(HIP_HALF * build * math.cos(yaw), CHEST_HALF_DEPTH * math.sin(yaw))
    shoulder_l, shoulder_r = keypoints[5], keypoints[6]
    hip_l, hip_r = keypoints[11], keypoints[12]
    neck_2d, neck_depth = project("neck")
    pelvis_2d, pelvis_depth = project("pelvis")
    axis = unit_vector(neck_2d - pelvis_2d) if np.linalg.norm(neck_2d - pelvis_2d) > 1e-6 else np.array([0.0, -1.0])
    normal = np.array([-axis[1], axis[0]])

    def corners(left, right, half, reach_up):
        """The torso outline's two corners at a joint line, ordered (normal side, other side)."""
        centre = (left + right) / 2 + axis * reach_up
        lateral = left - right
        lateral = unit_vector(lateral) if np.linalg.norm(lateral) > 1e-6 else normal
        if abs(lateral @ normal) < 0.3:          # seen edge-on: the joint line says nothing about width
            lateral = normal
        lateral = lateral if lateral @ normal >= 0 else -lateral
        return centre + lateral * half, centre - lateral * half

    s_plus, s_minus = corners(shoulder_l, shoulder_r, chest_half + arm_radius * 0.6, arm_radius * 0.9)
    h_plus, h_minus = corners(hip_l, hip_r, hip_half + leg_radius * 0.7, -leg_radius * 0.6)
    waist = pelvis_2d + (neck_2d - pelvis_2d) * 0.4
    waist_half = 0.85 * (chest_half + hip_half) / 2 + arm_radius * 0.3
    outline = [s_plus, waist + normal * waist_half, h_plus, h_minus, waist - normal * waist_half, s_minus]
    torso_depth = (neck_depth + pelvis_depth) / 2 / height_px
    parts.append(Part(TORSO, "polygon", torso_depth, np.array(outline), 0.0, palette["shirt"],
                      scaled_colour(palette["shirt"], 0.45)))

    head_2d, head_depth = project("head")
    head_depth = head_depth / height_px + 0.02
    parts.append(Part(NECK, "capsule", head_depth - 0.0005, np.array([neck_2d, head_2d]), arm_radius * 1.1,
                      palette["skin"], scaled_colour(palette["skin"], 0.5)))
    face_2d = keypoints[:5]
    parts.append(Part(HEAD, "head", head_depth, np.array([head_2d]),
                      head_radius * height_px, palette["skin"], scaled_colour(palette["skin"], 0.45),
                      head={"rotation": head_to_camera, "hair": palette["hair"], "face": face_2d,
                            "labelled": labelled[:5].copy(), "left_ear": palette["left_ear"],
                            "right_ear": palette["right_ear"]}))
    parts.sort(key=lambda part: part.depth)
    points = np.concatenate([part.points for part in parts])
    reach = np.concatenate([np.full(len(part.points), part.radius * (1.35 if part.kind == "head" else 1.0) + 2)
                            for part in parts])[:, None]
    low, high = (points - reach).min(axis=0), (points + reach).max(axis=0)
    box = (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
    return Figure(keypoints=keypoints, labelled=labelled, parts=parts, box=box)
