"""Posed mannequins (synthetic/poses.py, synthetic/figures.py): rotation directions, face points that follow
the facing direction, and the keypoints' left / right order in the image."""
import numpy as np

from higherhrnet.synthetic.figures import build_figure
from higherhrnet.synthetic.poses import Pose, limb_segments, rotation_x, rotation_y, rotation_z


def test_face_points_follow_the_facing_direction():
    rng = np.random.default_rng(0)
    front = build_figure(rng, 200, pose=Pose(yaw=0))
    back = build_figure(rng, 200, pose=Pose(yaw=180))
    profile = build_figure(rng, 200, pose=Pose(yaw=90))
    assert front.labelled[:5].all()
    assert front.keypoints[1, 0] > front.keypoints[2, 0] and front.keypoints[5, 0] > front.keypoints[6, 0]
    assert list(back.labelled[:5]) == [False, False, False, True, True]       # only the ears from behind
    assert back.keypoints[5, 0] < back.keypoints[6, 0]                        # left shoulder now on the left
    assert list(profile.labelled[:5]) == [True, False, True, False, True]     # the right side faces the camera
    assert profile.keypoints[0, 0] > profile.keypoints[4, 0]                   # nose points where it faces


def test_rotations_turn_the_axes_the_documented_way():
    x, y, z = np.eye(3)
    assert np.allclose(rotation_x(90) @ y, z)            # down turns forward
    assert np.allclose(rotation_y(90) @ z, x)            # forward turns to the figure's left
    assert np.allclose(rotation_z(90) @ x, y)            # image right turns down
    for rotation in (rotation_x(33), rotation_y(-71), rotation_z(140)):
        assert np.allclose(rotation @ rotation.T, np.eye(3)) and np.isclose(np.linalg.det(rotation), 1.0)


def test_limb_segments_have_their_lengths_and_bend_by_the_given_angle():
    upper, lower = limb_segments(np.eye(3), 1, abduction=0, swing=0, bend=60, twist=0, first=0.2, second=0.1,
                                 bend_forward=True)
    assert np.allclose(upper, [0, 0.2, 0])                                   # abduction 0: straight down
    assert np.isclose(np.linalg.norm(lower), 0.1)
    assert np.isclose(np.degrees(np.arccos(upper @ lower / 0.02)), 60)
    assert lower[2] > 0                                                      # an elbow bends forward
    _, knee_lower = limb_segments(np.eye(3), 1, 0, 0, 60, 0, 0.2, 0.1, bend_forward=False)
    assert knee_lower[2] < 0                                                 # a knee bends backward
