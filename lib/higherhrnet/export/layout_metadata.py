"""The keypoint layout carried inside an exported ONNX model, as JSON in its metadata_props.

    export_onnx(network, "model.onnx", layout=layout_from_config(cfg))   # writes the metadata entry
    layout_from_metadata(session.get_modelmeta().custom_metadata_map)    # -> KeypointLayout or None

One metadata entry, key LAYOUT_KEY, holds a JSON object (all indices 0-based, body joints only, as in
`keypoints.KeypointLayout`):

    {"format": 1, "num_joints": J + centre, "names": [...J], "flip_index": [...J], "flip_pairs": [[l, r], ...],
     "skeleton": [[a, b], ...], "oks_sigmas": [...J], "joint_order": [...J], "with_center": bool,
     "official": "coco" / "crowd_pose" / null}

`flip_pairs` (each joint paired with its mirror, a < b) is written for readers outside Python; the layout
is read back from `flip_index`. A runtime outside this package finds there what it needs to flip, group,
evaluate and draw the network's J joint channels.
"""
import json

from higherhrnet.errors import UserError
from higherhrnet.keypoints import KeypointLayout

LAYOUT_KEY = "higherhrnet.keypoint_layout"
FORMAT = 1


class OnnxLayoutMismatch(UserError, ValueError):
    """The keypoint layout in an ONNX model's metadata disagrees with the config it is run with."""


def layout_to_json(layout):
    """The JSON text of a KeypointLayout (see the module docstring)."""
    flip_pairs = [[joint, mirror] for joint, mirror in enumerate(layout.flip_index) if joint < mirror]
    return json.dumps({
        "format": FORMAT, "num_joints": layout.num_joints, "names": list(layout.names),
        "flip_index": list(layout.flip_index), "flip_pairs": flip_pairs,
        "skeleton": [list(pair) for pair in layout.skeleton], "oks_sigmas": [float(s) for s in layout.oks_sigmas],
        "joint_order": list(layout.joint_order), "with_center": bool(layout.with_center),
        "official": layout.official})


def layout_from_json(text, source="ONNX metadata"):
    """KeypointLayout from `layout_to_json` text; ValueError naming `source` if it is not such a text."""
    try:
        data = json.loads(text)
        return KeypointLayout(
            names=tuple(str(name) for name in data["names"]), flip_index=tuple(int(k) for k in data["flip_index"]),
            skeleton=tuple((int(a), int(b)) for a, b in data["skeleton"]),
            oks_sigmas=tuple(float(s) for s in data["oks_sigmas"]),
            joint_order=tuple(int(k) for k in data["joint_order"]), with_center=bool(data["with_center"]),
            official=data.get("official"))
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{source}: {LAYOUT_KEY} is not a keypoint layout ({type(error).__name__}: {error})") from None


def layout_from_metadata(metadata, source="ONNX metadata"):
    """The layout in a {key: value} metadata map (onnxruntime's custom_metadata_map), or None if absent."""
    text = (metadata or {}).get(LAYOUT_KEY)
    return None if text is None else layout_from_json(text, source)


# DATASET.KEYPOINTS key -> KeypointLayout field
CONFIG_FIELDS = {"NAMES": "names", "FLIP_PAIRS": "flip_index", "SKELETON": "skeleton", "OKS_SIGMAS": "oks_sigmas",
                 "JOINT_ORDER": "joint_order"}


def _plain(value):
    return [list(v) if isinstance(v, tuple) else v for v in value] if isinstance(value, tuple) else value


def combine_layouts(config_layout, given_keys, exported, source):
    """The layout to run an exported model with: the config's where it gives a table, the model's elsewhere.

    config_layout: `keypoints.layout_from_config(cfg)`; given_keys: the DATASET.KEYPOINTS keys the config
    sets (non-empty); exported: the layout of the model's metadata. A table the config gives must equal the
    model's, and the joint counts must agree; otherwise OnnxLayoutMismatch (one line, naming the key).
    """
    if (config_layout.num_body_joints, config_layout.with_center) != (exported.num_body_joints, exported.with_center):
        raise OnnxLayoutMismatch(
            f"{source}: its keypoint layout (metadata) has {exported.num_body_joints} joints (with_center "
            f"{exported.with_center}), the config {config_layout.num_body_joints} (DATASET.NUM_JOINTS, WITH_CENTER)")
    fields = {}
    for key, field in CONFIG_FIELDS.items():
        ours, theirs = getattr(config_layout, field), getattr(exported, field)
        if key in given_keys and _plain(ours) != _plain(theirs):
            raise OnnxLayoutMismatch(f"{source}: DATASET.KEYPOINTS.{key} of the config gives {field} {_plain(ours)}, "
                                     f"the model's metadata {_plain(theirs)}")
        fields[field] = ours if key in given_keys else theirs
    for candidate in (config_layout, exported):
        if all(getattr(candidate, field) == value for field, value in fields.items()):
            return candidate
    return KeypointLayout(**fields, with_center=config_layout.with_center)


def write_layout(onnx_path, layout):
    """Add (or replace) the layout entry in the metadata_props of the ONNX file at `onnx_path`."""
    from higherhrnet.errors import import_optional

    onnx = import_optional("onnx", "onnx")
    model = onnx.load(onnx_path)
    for entry in list(model.metadata_props):
        if entry.key == LAYOUT_KEY:
            model.metadata_props.remove(entry)
    onnx.helper.set_model_props(model, {**{e.key: e.value for e in model.metadata_props},
                                        LAYOUT_KEY: layout_to_json(layout)})
    onnx.save(model, onnx_path)
