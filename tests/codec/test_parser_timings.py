"""parse(..., timings=dict): the decoder records the seconds of its own steps and decodes exactly as without."""
import numpy as np
import pytest
import torch

from higherhrnet.codec import DecoderParams, parse

from codec_helpers import synthetic_maps


@pytest.mark.parametrize("fast", [True, False])
def test_timings_are_added_per_step_and_change_nothing(fast):
    det, tags = synthetic_maps(7, tag_dim=2)
    timings = {"top_k": 1.0}  # seconds are added to what the dict holds
    (persons,), scores = parse(det, tags, DecoderParams(fast=fast), timings=timings)
    (expected,), expected_scores = parse(det, tags, DecoderParams(fast=fast))
    np.testing.assert_array_equal(persons, expected)
    assert [s.tobytes() for s in scores] == [s.tobytes() for s in expected_scores] and len(persons) >= 3
    assert set(timings) == {"top_k", "match", "adjust", "refine"}
    assert timings["top_k"] > 1.0 and all(seconds > 0 for seconds in timings.values())


def test_refine_is_absent_from_the_timings_when_it_does_not_run():
    det, tags = synthetic_maps(8, tag_dim=2)
    timings = {}
    parse(det, tags, DecoderParams(refine=False), timings=timings)
    assert set(timings) == {"top_k", "match", "adjust"}
    timings = {}
    parse(torch.zeros(1, 17, 16, 16), torch.zeros(1, 17, 16, 16, 2), timings=timings)  # nobody to refine
    assert "refine" not in timings and set(timings) == {"top_k", "match", "adjust"}
