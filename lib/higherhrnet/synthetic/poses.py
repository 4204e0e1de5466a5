"""Joint angles of a mannequin (Pose), their random sampling, and the 3D rotations that pose it.

The figure frame: x = the figure's LEFT, y = down, z = the way it faces; lengths in units of standing height.
Angles are in degrees. Rotation matrices are (3, 3) numpy arrays acting on column vectors (R @ v).
"""
import math
from dataclasses import dataclass

import numpy as np


def rotation_x(deg):
    """(3, 3) rotation about the x axis (the figure's left); positive turns y (down) towards z (forward)."""
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rotation_y(deg):
    """(3, 3) rotation about the vertical axis; positive turns the forward axis (z) towards +x."""
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rotation_z(deg):
    """(3, 3) rotation about the z axis; in the image plane, positive turns x (right) towards y (down)."""
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def unit_vector(v):
    """`v` divided by its Euclidean norm (any shape, norm over all elements)."""
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


def limb_segments(frame, side, abduction, swing, bend, twist, first, second, bend_forward):
    """Two segment vectors (3,) of a limb in the figure frame, of lengths `first` and `second`.

    frame: (3, 3) rotation of the body part the limb hangs from. side: +1 left, -1 right. The first segment
    leaves the body at `abduction` (0 = down, 90 = out sideways, 180 = up) and `swing` (forward positive).
    The second turns by `bend` towards the front (elbow, bend_forward=True) or the back (knee), rotated by
    `twist` about the first segment.
    """
    a, s = math.radians(abduction), math.radians(swing)
    upper = frame @ np.array([side * math.sin(a) * math.cos(s), math.cos(a) * math.cos(s), math.sin(s)])
    toward = frame @ np.array([0.0, 0.0, 1.0 if bend_forward else -1.0])
    e1 = toward - upper * (toward @ upper)
    if np.linalg.norm(e1) < 1e-3:
        e1 = frame @ np.array([0.0, -1.0, 0.0]) - upper * (frame @ np.array([0.0, -1.0, 0.0]) @ upper)
    e1 = unit_vector(e1)
    e2 = np.array([upper[1] * e1[2] - upper[2] * e1[1], upper[2] * e1[0] - upper[0] * e1[2],
                   upper[0] * e1[1] - upper[1] * e1[0]]) * side          # upper x e1, mirrored per side
    t, b = math.radians(twist), math.radians(bend)
    lower = math.cos(b) * upper + math.sin(b) * (math.cos(t) * e1 + math.sin(t) * e2)
    return upper * first, lower * second
