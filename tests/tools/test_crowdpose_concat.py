"""tools/crowdpose_concat_train_val.py on two halves of the CrowdPose sample annotations."""
import json
import subprocess
import sys


def test_concat_writes_train_then_val(repo, shared, tmp_path):
    data = json.loads((shared / "data" / "crowdpose_sample" / "json" / "crowdpose_test.json").read_text())
    first, second = data["images"][:1], data["images"][1:]
    for name, images in (("train", first), ("val", second)):
        ids = {image["id"] for image in images}
        part = {"categories": data["categories"], "images": images,
                "annotations": [a for a in data["annotations"] if a["image_id"] in ids]}
        (tmp_path / f"crowdpose_{name}.json").write_text(json.dumps(part))
    completed = subprocess.run([sys.executable, str(repo / "tools" / "crowdpose_concat_train_val.py"),
                                "--data_dir", str(tmp_path)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    merged = json.loads((tmp_path / "crowdpose_trainval.json").read_text())
    assert set(merged) == {"categories", "images", "annotations"}
    assert merged["images"] == first + second
    assert [a["image_id"] for a in merged["annotations"]] == \
        [a["image_id"] for a in data["annotations"] if a["image_id"] == first[0]["id"]] + \
        [a["image_id"] for a in data["annotations"] if a["image_id"] != first[0]["id"]]


def test_concat_missing_file_is_one_line(repo, tmp_path):
    completed = subprocess.run([sys.executable, str(repo / "tools" / "crowdpose_concat_train_val.py"),
                                "--data_dir", str(tmp_path)], capture_output=True, text=True)
    assert completed.returncode != 0 and "crowdpose_train.json: file not found" in completed.stderr
    assert completed.stderr.strip().count("\n") == 0
