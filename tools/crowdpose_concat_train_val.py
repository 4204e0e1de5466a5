"""Write crowdpose_trainval.json = crowdpose_train.json + crowdpose_val.json (as the official script,
docs/algorithm.md §7.5).

python tools/crowdpose_concat_train_val.py [--data_dir data/crowd_pose/json]
The result has `categories` from train, `images` = train images then val images, `annotations` = train
annotations then val annotations, and nothing else. Ids are not renumbered; a clash is reported.
"""
import argparse
import json
import os
import sys


def _load(path):
    try:
        with open(path) as handle:
            data = json.load(handle)
    except FileNotFoundError:
        sys.exit(f"error: {path}: file not found")
    except json.JSONDecodeError as error:
        sys.exit(f"error: {path}: not valid JSON ({error.msg} at line {error.lineno})")
    missing = [key for key in ("images", "annotations", "categories") if key not in data]
    if missing:
        sys.exit(f"error: {path}: missing key(s) {missing}")
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description="Concatenate the CrowdPose train and val annotation files.")
    parser.add_argument("--data_dir", default="data/crowd_pose/json",
                        help="folder with crowdpose_train.json and crowdpose_val.json (default data/crowd_pose/json)")
    args = parser.parse_args(argv)
    train = _load(os.path.join(args.data_dir, "crowdpose_train.json"))
    val = _load(os.path.join(args.data_dir, "crowdpose_val.json"))
    merged = {"categories": train["categories"], "images": train["images"] + val["images"],
              "annotations": train["annotations"] + val["annotations"]}
    for kind in ("images", "annotations"):
        ids = [item["id"] for item in merged[kind]]
        if len(ids) != len(set(ids)):
            print(f"warning: {kind} ids of train and val overlap; the merged file keeps them as they are")
    out = os.path.join(args.data_dir, "crowdpose_trainval.json")
    with open(out, "w") as handle:
        json.dump(merged, handle)
    print(f"{out}: {len(merged['images'])} images, {len(merged['annotations'])} annotations")


if __name__ == "__main__":
    main()
