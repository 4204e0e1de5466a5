"""Fixtures of the codec tests: the official pipeline intermediates (helpers in codec_helpers.py)."""
import pytest

from codec_helpers import decoder_inputs, load_npz


@pytest.fixture(scope="session")
def pipeline_a(shared):
    """Setting a (flip, single scale), image 785: intermediates of the official valid.py."""
    return load_npz(shared / "tiny/pipeline/a_flip_single_scale/image0.npz")


@pytest.fixture(scope="session")
def pipeline_b(shared):
    """Setting b (no flip, single scale); its network call 0 equals setting a's call 0."""
    return load_npz(shared / "tiny/pipeline/b_noflip_single_scale/image0.npz")


@pytest.fixture(scope="session")
def pipeline_c(shared):
    """Setting c (flip, scales [0.5, 1, 2]); the 0.5-scale network outputs are stored in full."""
    return load_npz(shared / "tiny/pipeline/c_flip_multi_scale/image0.npz")


@pytest.fixture(scope="session")
def maps_a(pipeline_a):
    """Decoder inputs of setting a rebuilt from its four raw network outputs."""
    return decoder_inputs(pipeline_a, flip=True)


@pytest.fixture(scope="session")
def maps_b(pipeline_a):
    """Decoder inputs of setting b: setting a's call 0 alone (no flip)."""
    return decoder_inputs(pipeline_a, flip=False)


@pytest.fixture(scope="session", params=["perfect_in256", "perfect_in64"])
def grouping_fixture(request, shared):
    """(name, arrays) of a grouping fixture (decoder inputs built from ground truth)."""
    return request.param, load_npz(shared / f"grouping/{request.param}.npz")
