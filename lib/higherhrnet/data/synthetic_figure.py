"""Articulated mannequin figures for the synthetic dataset: pose sampling, projection and drawing.

A figure is posed in its own 3D frame (x = the figure's LEFT, y = down, z = the way it faces; unit = standing
height), turned about the vertical axis by a yaw, rolled in the image plane and projected orthographically.
Yaw 0 faces the camera, so the figure's left side appears on the image right, as with a real person.

Image coordinates are OpenCV drawing coordinates: (x, y) = (column, row), pixel centres at integers.
Camera frame: x right, y down, z towards the camera; a larger depth is nearer and is drawn later.

Drawing convention that makes the task learnable: every limb segment has its own hue, warm on the LEFT
(red/orange arm, magenta/yellow leg) and cool on the RIGHT (blue/cyan arm, violet/teal leg), whatever way the
figure faces; only brightness and saturation vary per person (side_colours=False paints both sides like
the left, for training with mirror flips). Joints are marked by darker balls, the face by eyes, a nose and
side-coloured ears, drawn only where the head's 3D normal faces the camera.
"""
import colorsys
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

# Part codes inside one figure's owner code (see `draw_figure`); all < PARTS_PER_FIGURE.
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
FACE_CAP_COS = math.cos(math.radians(62))           # skin within 62 degrees of the face direction
LIGHT = np.array([-0.45, -0.55, 0.70]) / np.linalg.norm([-0.45, -0.55, 0.70])


def _rot_x(deg):
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(deg):
    """Rotation about the vertical axis; positive turns the forward axis (z) towards +x."""
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rot_z(deg):
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _unit(v):
    return v / np.linalg.norm(v)


@dataclass
class Pose:
    """Joint angles in degrees. Per side (index 0 = left, 1 = right): limb abduction away from the body,
    forward swing, bend at the elbow/knee and the bend's twist; plus torso, head and whole-figure angles."""
    yaw: float = 0.0
    roll: float = 0.0
    lean: float = 0.0
    side_bend: float = 0.0
    twist: float = 0.0
    head_turn: float = 0.0
    head_nod: float = 0.0
    head_tilt: float = 0.0
    arm_abduction: tuple = (10.0, 10.0)
    arm_swing: tuple = (0.0, 0.0)
    elbow_bend: tuple = (10.0, 10.0)
    elbow_twist: tuple = (0.0, 0.0)
    leg_abduction: tuple = (5.0, 5.0)
    leg_swing: tuple = (0.0, 0.0)
    knee_bend: tuple = (5.0, 5.0)
    knee_twist: tuple = (0.0, 0.0)


def _pair(rng, low, high):
    return tuple(float(a) for a in rng.uniform(low, high, size=2))


def sample_pose(rng):
    """A random but bounded pose: one of a few pose families, every angle inside anatomical limits."""
    family = rng.choice(["stand", "walk", "arms_up", "crouch", "free"], p=[0.25, 0.3, 0.15, 0.1, 0.2])
    facing = rng.random()
    if facing < 0.5:
        yaw = rng.uniform(-40, 40)                               # towards the camera
    elif facing < 0.75:
        yaw = rng.choice([-1, 1]) * rng.uniform(40, 125)         # profile
    else:
        yaw = 180 + rng.uniform(-45, 45)                         # back view
    pose = Pose(
        yaw=float(yaw),
        roll=float(rng.normal(0, 6) if rng.random() < 0.93 else rng.uniform(-60, 60)),
        lean=float(np.clip(rng.normal(4, 8), -15, 35)),
        side_bend=float(np.clip(rng.normal(0, 6), -18, 18)),
        twist=float(rng.uniform(-20, 20)),
        head_turn=float(rng.uniform(-45, 45)),
        head_nod=float(rng.uniform(-15, 20)),
        head_tilt=float(rng.uniform(-12, 12)),
        arm_abduction=_pair(rng, 0, 45),
        arm_swing=_pair(rng, -30, 40),
        elbow_bend=_pair(rng, 0, 70),
        elbow_twist=_pair(rng, -60, 60),
        leg_abduction=_pair(rng, 0, 18),
        leg_swing=_pair(rng, -10, 15),
        knee_bend=_pair(rng, 0, 25),
        knee_twist=_pair(rng, -15, 15),
    )
    if family == "walk":
        stride = rng.uniform(15, 35) * rng.choice([-1, 1])
        pose.leg_swing = (stride, -stride)
        pose.knee_bend = (float(rng.uniform(0, 40)), float(rng.uniform(0, 40)))
        pose.arm_swing = (-stride, stride)
    elif family == "arms_up":
        pose.arm_abduction = _pair(rng, 90, 170)
        pose.elbow_bend = _pair(rng, 0, 110)
    elif family == "crouch":
        pose.leg_swing = _pair(rng, 50, 95)
        pose.knee_bend = _pair(rng, 60, 125)
        pose.lean = float(rng.uniform(10, 40))
    elif family == "free":
        pose.arm_abduction = _pair(rng, -15, 170)
        pose.arm_swing = _pair(rng, -45, 90)
        pose.elbow_bend = _pair(rng, 0, 145)
        pose.leg_abduction = _pair(rng, -10, 45)
        pose.leg_swing = _pair(rng, -30, 75)
        pose.knee_bend = _pair(rng, 0, 110)
    return pose


def _limb(frame, side, abduction, swing, bend, twist, first, second, bend_forward):
    """Two segment directions of a limb in the figure frame.

    side: +1 left, -1 right. The first segment leaves the body at `abduction` (0 = down, 90 = out sideways,
    180 = up) and `swing` (forward positive). The second turns by `bend` towards the front (elbow) or the
    back (knee), rotated by `twist` about the first segment.
    """
    a, s = math.radians(abduction), math.radians(swing)
    upper = frame @ np.array([side * math.sin(a) * math.cos(s), math.cos(a) * math.cos(s), math.sin(s)])
    toward = frame @ np.array([0.0, 0.0, 1.0 if bend_forward else -1.0])
    e1 = toward - upper * (toward @ upper)
    if np.linalg.norm(e1) < 1e-3:
        e1 = frame @ np.array([0.0, -1.0, 0.0]) - upper * (frame @ np.array([0.0, -1.0, 0.0]) @ upper)
    e1 = _unit(e1)
    e2 = np.array([upper[1] * e1[2] - upper[2] * e1[1], upper[2] * e1[0] - upper[0] * e1[2],
                   upper[0] * e1[1] - upper[1] * e1[0]]) * side          # upper x e1, mirrored per side
    t, b = math.radians(twist), math.radians(bend)
    lower = math.cos(b) * upper + math.sin(b) * (math.cos(t) * e1 + math.sin(t) * e2)
    return upper * first, lower * second


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
    r, g, b = colorsys.hsv_to_rgb((hue_deg % 360) / 360.0, saturation, value)
    return (round(b * 255), round(g * 255), round(r * 255))


def _scaled(bgr, factor):
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
    torso_frame = _rot_z(pose.side_bend) @ _rot_x(-pose.lean)      # lean tilts the spine forward (+z)
    chest_frame = torso_frame @ _rot_y(pose.twist)
    head_frame = chest_frame @ _rot_y(pose.head_turn) @ _rot_x(pose.head_nod) @ _rot_z(pose.head_tilt)

    up = torso_frame @ np.array([0.0, -1.0, 0.0])
    neck = up * TORSO_LENGTH * lengths[2]
    head_centre = neck + chest_frame @ np.array([0.0, -1.0, 0.0]) * (NECK_LENGTH + head_radius)
    joints = {}
    for side, name in ((1, "left"), (-1, "right")):
        i = 0 if side == 1 else 1
        shoulder = neck + chest_frame @ np.array([side * SHOULDER_HALF * build, 0.01, 0.0])
        upper, lower = _limb(chest_frame, side, pose.arm_abduction[i], pose.arm_swing[i], pose.elbow_bend[i],
                             pose.elbow_twist[i], UPPER_ARM * lengths[0], FOREARM * lengths[0], True)
        joints[name + "_shoulder"] = shoulder
        joints[name + "_elbow"] = shoulder + upper
        joints[name + "_wrist"] = shoulder + upper + lower
        joints[name + "_hand"] = shoulder + upper + lower + _unit(lower) * HAND_RADIUS * 0.9
        hip = pelvis_frame @ np.array([side * HIP_HALF * build, 0.0, 0.0])
        upper, lower = _limb(pelvis_frame, side, pose.leg_abduction[i], pose.leg_swing[i], pose.knee_bend[i],
                             pose.knee_twist[i], THIGH * lengths[1], SHIN * lengths[1], False)
        joints[name + "_hip"] = hip
        joints[name + "_knee"] = hip + upper
        joints[name + "_ankle"] = hip + upper + lower
        shin = _unit(lower)
        forward = pelvis_frame @ np.array([0.0, 0.25, 1.0])
        foot = _unit(forward - 0.5 * (forward @ shin) * shin)          # forward, bent halfway off the shin
        joints[name + "_toe"] = joints[name + "_ankle"] + foot * FOOT

    camera = _rot_z(pose.roll) @ _rot_y(pose.yaw)
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
                              colour, _scaled(colour, outline_dark)))
            # A darker ball marks the joint where the segment starts; at the shoulders and hips it lies over
            # the torso unless the joint is turned away (then it stays behind).
            ball_colour = _scaled(colour, 0.62)
            on_torso = 0.012 if start.endswith(("shoulder", "hip")) else 0.001
            parts.append(Part(part_id, "ball", d0 / height_px + bias + on_torso, np.array([p0]), radius * 1.08,
                              ball_colour, _scaled(ball_colour, 0.6)))
        p_hand, d_hand = project(name + "_hand")
        parts.append(Part(hand, "ball", d_hand / height_px + 0.005, np.array([p_hand]),
                          HAND_RADIUS * height_px * build ** 0.5, palette["skin"], _scaled(palette["skin"], 0.5)))
        p_ankle, d_ankle = project(name + "_ankle")
        p_toe, d_toe = project(name + "_toe")
        parts.append(Part(foot, "capsule", (d_ankle + d_toe) / 2 / height_px, np.array([p_ankle, p_toe]),
                          leg_radius * 0.75, palette["shoe"], _scaled(palette["shoe"], 0.5)))

    # Torso: a polygon through the shoulder and hip lines, as wide as an elliptic chest seen from this yaw.
    yaw = math.radians(pose.yaw + pose.twist)
    chest_half = height_px * math.hypot(SHOULDER_HALF * build * math.cos(yaw), CHEST_HALF_DEPTH * math.sin(yaw))
    yaw = math.radians(pose.yaw)
    hip_half = height_px * math.hypot(HIP_HALF * build * math.cos(yaw), CHEST_HALF_DEPTH * math.sin(yaw))
    shoulder_l, shoulder_r = keypoints[5], keypoints[6]
    hip_l, hip_r = keypoints[11], keypoints[12]
    neck_2d, neck_depth = project("neck")
    pelvis_2d, pelvis_depth = project("pelvis")
    axis = _unit(neck_2d - pelvis_2d) if np.linalg.norm(neck_2d - pelvis_2d) > 1e-6 else np.array([0.0, -1.0])
    normal = np.array([-axis[1], axis[0]])

    def corners(left, right, half, reach_up):
        """The torso outline's two corners at a joint line, ordered (normal side, other side)."""
        centre = (left + right) / 2 + axis * reach_up
        lateral = left - right
        lateral = _unit(lateral) if np.linalg.norm(lateral) > 1e-6 else normal
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
                      _scaled(palette["shirt"], 0.45)))

    head_2d, head_depth = project("head")
    head_depth = head_depth / height_px + 0.02
    parts.append(Part(NECK, "capsule", head_depth - 0.0005, np.array([neck_2d, head_2d]), arm_radius * 1.1,
                      palette["skin"], _scaled(palette["skin"], 0.5)))
    face_2d = keypoints[:5]
    parts.append(Part(HEAD, "head", head_depth, np.array([head_2d]),
                      head_radius * height_px, palette["skin"], _scaled(palette["skin"], 0.45),
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


SHIFT = 4                    # OpenCV drawing fixed-point bits: coordinates are given in 1/16 pixel
_ONE = 1 << SHIFT


def _fixed(point):
    return int(math.floor(point[0] * _ONE + 0.5)), int(math.floor(point[1] * _ONE + 0.5))


def _draw_capsule(image, owner, code, part, outline_px):
    p0, p1 = _fixed(part.points[0]), _fixed(part.points[1])
    thickness = max(2, int(round(2 * part.radius)))
    cv2.line(image, p0, p1, part.outline, thickness + 2 * outline_px, cv2.LINE_AA, SHIFT)
    cv2.line(image, p0, p1, part.colour, thickness, cv2.LINE_AA, SHIFT)
    if thickness >= 6:           # a lighter stripe gives the capsule some volume
        offset = np.array([-0.3, -0.3]) * part.radius
        q0, q1 = _fixed(part.points[0] + offset), _fixed(part.points[1] + offset)
        cv2.line(image, q0, q1, _scaled(part.colour, 1.25), max(1, thickness // 4), cv2.LINE_AA, SHIFT)
    cv2.line(owner, p0, p1, code, thickness + 2 * outline_px, cv2.LINE_8, SHIFT)


def _draw_ball(image, owner, code, part, outline_px):
    centre = _fixed(part.points[0])
    radius = int(round(max(1.0, part.radius) * _ONE))
    cv2.circle(image, centre, radius + outline_px * _ONE, part.outline, -1, cv2.LINE_AA, SHIFT)
    cv2.circle(image, centre, radius, part.colour, -1, cv2.LINE_AA, SHIFT)
    cv2.circle(owner, centre, radius + outline_px * _ONE, code, -1, cv2.LINE_8, SHIFT)


def _draw_polygon(image, owner, code, part, outline_px):
    points = np.array([_fixed(p) for p in part.points], dtype=np.int32)
    cv2.fillPoly(image, [points], part.colour, cv2.LINE_AA, SHIFT)
    cv2.polylines(image, [points], True, part.outline, outline_px, cv2.LINE_AA, SHIFT)
    cv2.fillPoly(owner, [points], code, cv2.LINE_8, SHIFT)
    cv2.polylines(owner, [points], True, code, outline_px, cv2.LINE_8, SHIFT)


def _draw_head(image, owner, code, part, outline_px):
    """A shaded sphere: skin within the face cap, hair elsewhere; then ears, eyes and nose where labelled."""
    cx, cy = part.points[0]
    radius = max(part.radius, 1.5)
    height, width = image.shape[:2]
    x0, y0 = max(0, int(math.floor(cx - radius - 1))), max(0, int(math.floor(cy - radius - 1)))
    x1, y1 = min(width, int(math.ceil(cx + radius + 2))), min(height, int(math.ceil(cy + radius + 2)))
    info = part.head
    if x1 > x0 and y1 > y0:
        xs, ys = np.meshgrid(np.arange(x0, x1) - cx, np.arange(y0, y1) - cy)
        u, w = xs / radius, ys / radius
        dist = np.sqrt(u * u + w * w)
        alpha = np.clip((1.0 - dist) * radius + 0.5, 0.0, 1.0)
        z = np.sqrt(np.clip(1.0 - u * u - w * w, 0.0, 1.0))
        normals = np.stack([u, w, z], axis=-1)
        local = normals @ info["rotation"]                   # camera -> head frame (rotation transposed)
        face_direction = _unit(np.array([0.0, 0.2, 1.0]))
        is_face = (local @ face_direction > FACE_CAP_COS) & (local[..., 1] > -0.7)
        shade = 0.55 + 0.45 * np.clip(normals @ LIGHT, 0.0, 1.0)
        base = np.where(is_face[..., None], np.array(part.colour, float), np.array(info["hair"], float))
        rim = np.clip((dist - 1.0) * radius + outline_px + 0.5, 0.0, 1.0)[..., None]   # dark outline ring
        colour = base * shade[..., None] * (1 - rim) + np.array(part.outline, float) * rim
        alpha = alpha[..., None]
        patch = image[y0:y1, x0:x1].astype(np.float64)
        image[y0:y1, x0:x1] = np.clip(patch * (1 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)
        owner[y0:y1, x0:x1][alpha[..., 0] >= 0.5] = code
    face, labelled = info["face"], info["labelled"]
    for index, key in ((3, "left_ear"), (4, "right_ear")):
        if labelled[index]:
            centre = _fixed(face[index])
            axes = (int(round(radius * 0.2 * _ONE)), int(round(radius * 0.3 * _ONE)))
            angle = math.degrees(math.atan2(face[index][1] - cy, face[index][0] - cx))
            cv2.ellipse(image, centre, (axes[0] + outline_px * _ONE, axes[1] + outline_px * _ONE), angle, 0, 360,
                        _scaled(info[key], 0.45), -1, cv2.LINE_AA, SHIFT)
            cv2.ellipse(image, centre, axes, angle, 0, 360, info[key], -1, cv2.LINE_AA, SHIFT)
            cv2.ellipse(owner, centre, (axes[0] + outline_px * _ONE, axes[1] + outline_px * _ONE), angle, 0, 360,
                        code, -1, cv2.LINE_8, SHIFT)
    for index in (1, 2):
        if labelled[index]:
            centre = _fixed(face[index])
            cv2.circle(image, centre, int(round(radius * 0.2 * _ONE)), (245, 245, 245), -1, cv2.LINE_AA, SHIFT)
            cv2.circle(image, centre, int(round(radius * 0.12 * _ONE)), (30, 20, 15), -1, cv2.LINE_AA, SHIFT)
    if labelled[0]:
        centre = _fixed(face[0])
        cv2.circle(image, centre, int(round(radius * 0.15 * _ONE)), (40, 40, 170), -1, cv2.LINE_AA, SHIFT)


_DRAWERS = {"capsule": _draw_capsule, "ball": _draw_ball, "polygon": _draw_polygon, "head": _draw_head}


def draw_figure(image, owner, figure, owner_base, height_px):
    """Draw a figure back to front into `image` (H, W, 3) uint8 BGR and `owner` (H, W) int32.

    owner receives `owner_base + part_id` on every pixel a part covers (outline included), so a later
    figure or shape overwrites what it hides. Outlines are ~0.6 % of the height, at least one pixel.
    """
    outline_px = max(1, int(round(0.006 * height_px)))
    for part in figure.parts:
        _DRAWERS[part.kind](image, owner, owner_base + part.part_id, part, outline_px)
