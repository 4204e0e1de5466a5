"""Where the official dataset layouts keep their files, and reading them with one-line errors.

Layouts (algorithm.md §3.1), `family` is 'coco' or 'crowd_pose':

    COCO       ROOT/annotations/person_keypoints_<split>.json   (image_info_<split>.json if 'test' in split)
               ROOT/images/<split>/<file_name>                  (images/test2017/ for any split containing 'test')
    CrowdPose  ROOT/json/crowdpose_<split>.json
               ROOT/images/<file_name>

With DATA_FORMAT 'zip' the image directory `<dir>` becomes the archive `<dir>.zip` and an image path is
written `<dir>.zip@<file_name>` (official convention). The member is looked up as `<file_name>` at the
archive root, then as `<basename of dir>/<file_name>` (an archive made by zipping the folder itself).
"""
import contextlib
import io
import json
import os
import zipfile

from pycocotools.coco import COCO

from .image_io import ImageReadError, decode_image, read_image_rgb, read_image_rgba
from higherhrnet.errors import ConfigError, UserError

FAMILIES = ("coco", "crowd_pose")
DATA_FORMATS = ("jpg", "zip")


class AnnotationFileError(UserError, OSError):
    """An annotation file is missing, is not JSON, or is not a COCO-style keypoint file."""


def _check_family(family):
    if family not in FAMILIES:
        raise ValueError(f"unknown dataset family {family!r}; expected one of {FAMILIES}")


def annotation_path(family, root, split):
    """Path of the keypoint annotation json of a split (test splits of COCO use image_info_<split>.json)."""
    _check_family(family)
    if family == "crowd_pose":
        return os.path.join(root, "json", f"crowdpose_{split}.json")
    prefix = "image_info" if "test" in split else "person_keypoints"
    return os.path.join(root, "annotations", f"{prefix}_{split}.json")


def image_path(family, root, split, file_name, data_format="jpg"):
    """Path of one image: a file path, or `<dir>.zip@<file_name>` when data_format is 'zip'."""
    _check_family(family)
    if data_format not in DATA_FORMATS:
        raise ConfigError(f"DATASET.DATA_FORMAT {data_format!r} is not supported; expected one of {DATA_FORMATS}")
    images_dir = os.path.join(root, "images")
    if family == "coco":
        images_dir = os.path.join(images_dir, "test2017" if "test" in split else split)
    if data_format == "zip":
        return f"{images_dir}.zip@{file_name}"
    return os.path.join(images_dir, file_name)


def load_coco_api(path):
    """Load a COCO-style annotation json into a pycocotools COCO object, silently.

    Raises AnnotationFileError (one line, naming the file) when the file is missing, is not JSON, or has
    no 'images' list.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AnnotationFileError(f"{path}: annotation file not found")
    try:
        with open(path, "rb") as handle:
            dataset = json.load(handle)
    except json.JSONDecodeError as error:
        raise AnnotationFileError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
    except UnicodeDecodeError:
        raise AnnotationFileError(f"{path}: not valid JSON (not UTF-8 text)") from None
    if not isinstance(dataset, dict) or not isinstance(dataset.get("images"), list):
        raise AnnotationFileError(f"{path}: not a COCO-style annotation file (no 'images' list)")
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def keypoint_category(coco):
    """categories[0] of a loaded annotation file (joint names and skeleton of its layout), or None."""
    categories = coco.dataset.get("categories") or []
    first = categories[0] if categories else None
    return first if isinstance(first, dict) else None


class ZipArchives:
    """Open image archives, one handle per archive and per process (DataLoader workers re-open after fork)."""

    def __init__(self):
        self._pid = None
        self._archives = {}

    def __getstate__(self):  # open handles do not travel to spawned workers
        return {"_pid": None, "_archives": {}}

    def member_bytes(self, archive_path, member):
        if self._pid != os.getpid():
            self._pid, self._archives = os.getpid(), {}
        archive = self._archives.get(archive_path)
        if archive is None:
            if not os.path.isfile(archive_path):
                raise ImageReadError(f"{archive_path}: image archive not found")
            try:
                archive = zipfile.ZipFile(archive_path)
            except zipfile.BadZipFile:
                raise ImageReadError(f"{archive_path}: not a readable zip archive") from None
            self._archives[archive_path] = archive
        folder = os.path.splitext(os.path.basename(archive_path))[0]
        for name in (member, f"{folder}/{member}"):
            try:
                return archive.read(name)
            except KeyError:
                continue
            except (zipfile.BadZipFile, OSError) as error:
                raise ImageReadError(f"{archive_path}@{name}: cannot be read from the archive ({error})") from None
        raise ImageReadError(f"{archive_path}@{member}: image not found in the archive")


def read_image(path, archives=None, rgba=False):
    """Read an image as uint8 RGB (H, W, 3) from a file path or a `<archive>.zip@<member>` path.

    rgba: return (H, W, 4) RGBA instead (alpha 255), the faster input of the training warp.
    archives: a ZipArchives that keeps archives open between calls (a fresh one per call if None).
    """
    path = os.fspath(path)
    if ".zip@" in path:
        archive_path, member = path.split(".zip@", 1)
        archives = ZipArchives() if archives is None else archives
        return decode_image(archives.member_bytes(archive_path + ".zip", member), path, rgba)
    return read_image_rgba(path) if rgba else read_image_rgb(path)
