"""The generated multi-person keypoint dataset (COCO layout) that `make demo` trains and evaluates on.

It only writes files: training and testing read them like any COCO folder (DATASET.ROOT), through data/.

    poses.py           joint angles (Pose), their random sampling, the rotations that pose a figure in 3D
    figures.py         a posed, projected and dressed mannequin (Figure: keypoints and drawing primitives)
    figure_drawing.py  drawing a Figure into an image and an owner map (which part covers each pixel)
    backdrops.py       textured backgrounds, distractor shapes, the camera-like finish
    mask_encoding.py   COCO encodings of a mask: uncompressed RLE, polygons, box
    scenes.py          one image and its COCO annotations (render_scene)
    dataset_writer.py  the dataset on disk: image ids, JPEGs, annotation files (generate_dataset)
    keypoint_subset.py the annotations cut down to another keypoint layout (write_keypoint_subset)

Command line: tools/make_synthetic.py.
"""
from .dataset_writer import DEFAULT_NUM_TRAIN, DEFAULT_NUM_VAL, SPLITS, generate_dataset, image_id
from .keypoint_subset import SUBSETS, TEN_JOINTS, write_keypoint_subset
from .scenes import DEFAULT_IMAGE_SIZE, DEFAULT_MAX_PEOPLE, render_scene
