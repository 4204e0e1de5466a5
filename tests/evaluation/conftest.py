"""Shared helper of the evaluation tests: official results records back into per-image arrays."""
import numpy as np
import pytest


def _persons_from_records(records, num_tag_columns=2):
    """Invert the results writer: image ids (first-appearance order), per image float32 (P, J, 3 + T)
    persons and float32 scores. T fake tag columns (value 7.5) are appended: the writer must ignore them.
    """
    image_ids, persons, scores = [], [], []
    for record in records:
        if record["image_id"] not in image_ids:
            image_ids.append(record["image_id"])
            persons.append([])
            scores.append([])
        joints = np.asarray(record["keypoints"], dtype=np.float32).reshape(-1, 3)
        tags = np.full((len(joints), num_tag_columns), 7.5, dtype=np.float32)
        persons[-1].append(np.concatenate([joints, tags], axis=1))
        scores[-1].append(np.float32(record["score"]))
    return image_ids, [np.stack(group) for group in persons], scores


@pytest.fixture
def persons_from_records():
    """The function `_persons_from_records(records, num_tag_columns=2)`."""
    return _persons_from_records
