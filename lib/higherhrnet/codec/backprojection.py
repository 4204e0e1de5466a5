"""Back-projection of decoded joints from heatmap pixels to original-image pixels (algorithm.md §6.10)."""
import numpy as np

from higherhrnet.geometry import affine_transform, get_affine_transform


def get_final_preds(persons, center, scale, heatmap_size):
    """Map every person's (x, y) columns back to image pixels; other columns are copied unchanged.

    persons: (P, J, K) array, columns 0 and 1 = (x, y) in heatmap pixels (after adjust/refine: pixel
    centre + 0.5 +- 0.25); center (2,), scale (2,): the test-resize centre/scale of the image (algorithm.md §6.2);
    heatmap_size: (W, H) of the aggregated heatmaps (the base size with PROJECT2IMAGE).
    Uses the inverse of `get_affine_transform(center, scale, 0, heatmap_size)`.
    Returns a list of P arrays (J, K) of the input dtype. Deliberate difference: takes the image's
    (P, J, K) array, where the official function takes the batch list and reads its first entry.
    """
    if len(persons) and np.ndim(persons[0]) != 2:
        raise ValueError(f"get_final_preds: expected persons of shape (P, J, K), got {np.shape(persons)}")
    matrix = get_affine_transform(center, scale, 0, heatmap_size, inv=True)
    final_results = []
    for person in persons:
        image_coords = np.array(person, copy=True)
        for joint in range(person.shape[0]):
            image_coords[joint, 0:2] = affine_transform(person[joint, 0:2], matrix)
        final_results.append(image_coords)
    return final_results
