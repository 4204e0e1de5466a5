"""Losses (algorithm.md §5): AE loss and heatmap loss against the official fixtures, the vectorised AE loss against a
plain per-image per-person loop, the multi-stage factory and the trainer's total (their speed: tools/benchmark.py)."""
import json

import numpy as np
import pytest
import torch
from yacs.config import CfgNode

from higherhrnet.losses import AELoss, HeatmapLoss, MultiLossFactory, official_heatmap_loss, total_loss

from loss_reference import reference_ae_loss

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)

AE_CASES = ["zero_persons", "one_person", "one_visible_among_three", "several_persons", "batch_0_1_several",
            "tag_per_joint_false", "crowd_30_persons_14_joints"]
LOSS_TYPES = ["exp", "max"]


def make_joints(rng, batch_size, num_persons_per_image, num_joints, map_res, tag_per_joint, max_people=30):
    """Random tag-index targets (B, max_people, J, 2) int32 like the official JointsGenerator.

    Each person gets a random subset of flagged joints (possibly none) at random pixels; unflagged slots hold
    junk indices (the loss must not read them); a few joints are copied from another person (same index).
    """
    joints = np.zeros((batch_size, max_people, num_joints, 2), dtype=np.int32)
    maps = num_joints if tag_per_joint else 1
    for image, num_persons in enumerate(num_persons_per_image):
        for person in range(num_persons):
            visible = rng.random(num_joints) < rng.uniform(0.2, 1.0)
            ys, xs = rng.integers(0, map_res, num_joints), rng.integers(0, map_res, num_joints)
            channel = np.arange(num_joints) if tag_per_joint else np.zeros(num_joints, dtype=int)
            index = channel * map_res * map_res + ys * map_res + xs
            joints[image, person, :, 0] = np.where(visible, index, rng.integers(0, maps * map_res ** 2, num_joints))
            joints[image, person, :, 1] = visible
        if num_persons >= 2:  # duplicates: person 1 shares a few flagged joints (same index) with person 0
            shared = rng.random(num_joints) < 0.3
            joints[image, 1][shared] = joints[image, 0][shared]
    return joints


def load_ae_cases(shared):
    arrays = np.load(shared / "train" / "ae_loss_cases.npz")
    meta = {case["case"]: case for case in json.loads((shared / "train" / "ae_loss_cases.json").read_text())}
    return arrays, meta


def assert_close_to_fixture(actual, expected, rtol=1e-6, atol=1e-8):
    np.testing.assert_allclose(actual.detach().numpy(), expected, rtol=rtol, atol=atol)


def assert_constant_term(output, tags):
    """Where the official loss returns a constant (no person, or one person's push), the vectorised loss
    keeps its graph (deciding that on the host would cost a device sync per iteration): its value is the
    official constant and its gradient exactly zero, so training steps are unchanged."""
    if output.requires_grad:
        assert not grad_of(output, tags).any()
    return True


def grad_of(output, tags):
    (grad,) = torch.autograd.grad(output.sum(), tags, retain_graph=True)
    return grad.numpy()


@pytest.mark.parametrize("loss_type", LOSS_TYPES)
@pytest.mark.parametrize("case", AE_CASES)
@pytest.mark.parametrize("implementation", ["vectorised", "reference_loop"])
def test_ae_loss_matches_official_cases(shared, case, loss_type, implementation):
    arrays, meta = load_ae_cases(shared)
    expected = meta[case][loss_type]
    tags = torch.tensor(arrays[f"{case}.tags"], requires_grad=True)
    joints = arrays[f"{case}.joints"]
    assert joints.shape[:3] == (tags.shape[0], 30, meta[case]["num_joints"])
    official_input = tags.view(tags.shape[0], -1, 1)  # as MultiLossFactory passes it
    if implementation == "vectorised":
        push, pull = AELoss(loss_type)(official_input, torch.from_numpy(joints))
    else:
        push, pull = reference_ae_loss(official_input, joints, loss_type)

    assert push.shape == pull.shape == (tags.shape[0],)
    assert_close_to_fixture(push, arrays[f"{case}.{loss_type}.push"])
    assert_close_to_fixture(pull, arrays[f"{case}.{loss_type}.pull"])
    np.testing.assert_allclose(push.detach().numpy(), expected["push"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(pull.detach().numpy(), expected["pull"], rtol=1e-6, atol=1e-8)
    for name, output in (("push", push), ("pull", pull)):
        expected_grad = arrays[f"{case}.{loss_type}.grad_{name}"]
        if expected[f"{name}_requires_grad"]:
            grad = grad_of(output, tags)
            np.testing.assert_allclose(grad, expected_grad, rtol=0, atol=1e-6 * max(1.0, np.abs(expected_grad).max()))
        else:
            assert_constant_term(output, tags)
            assert not expected_grad.any()


@pytest.mark.parametrize("implementation", ["vectorised", "reference_loop"])
def test_spec_toy_check(implementation):
    tags = (0.1 * torch.arange(32, dtype=torch.float32)).view(1, 32, 1)
    joints = np.zeros((1, 30, 2, 2), dtype=np.int32)
    joints[0, 0] = [[3, 1], [22, 1]]  # person A
    joints[0, 1] = [[10, 1], [30, 1]]  # person B
    expected_push = {"exp": 0.2848914, "max": 0.125}
    for loss_type in LOSS_TYPES:
        if implementation == "vectorised":
            push, pull = AELoss(loss_type)(tags, torch.from_numpy(joints))
        else:
            push, pull = reference_ae_loss(tags, joints, loss_type)
        np.testing.assert_allclose(pull.numpy(), [0.95125], rtol=1e-6)
        np.testing.assert_allclose(push.numpy(), [expected_push[loss_type]], rtol=1e-6)


RANDOM_SETTINGS = [
    # (seed, persons per image, num_joints, map_res, tag_per_joint)
    (0, [0, 1, 2, 7], 17, 8, True),
    (1, [30, 30], 17, 16, True),
    (2, [3, 0, 30, 1, 5], 14, 8, True),
    (3, [4, 9, 1], 17, 8, False),
    (4, [30, 0], 17, 4, False),  # 16 pixels, one map: many persons share indices
]


@pytest.mark.parametrize("loss_type", LOSS_TYPES)
@pytest.mark.parametrize("seed, persons, num_joints, map_res, tag_per_joint", RANDOM_SETTINGS)
def test_vectorised_equals_reference_loop(seed, persons, num_joints, map_res, tag_per_joint, loss_type):
    rng = np.random.default_rng(seed)
    batch_size = len(persons)
    joints = make_joints(rng, batch_size, persons, num_joints, map_res, tag_per_joint)
    tag_maps = num_joints if tag_per_joint else 1
    # tags spread over about +-1: push terms neither all saturated (exp ~ 1) nor all vanishing (max = 0)
    tags = torch.tensor(rng.normal(0, 0.7, (batch_size, tag_maps, map_res, map_res)).astype(np.float32),
                        requires_grad=True)

    push, pull = AELoss(loss_type)(tags, torch.from_numpy(joints))
    ref_push, ref_pull = reference_ae_loss(tags, joints, loss_type)
    np.testing.assert_allclose(push.detach().numpy(), ref_push.detach().numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(pull.detach().numpy(), ref_pull.detach().numpy(), rtol=1e-6, atol=1e-8)
    assert (pull.detach().numpy() > 0).any()
    for output, ref_output in ((push, ref_push), (pull, ref_pull)):
        if ref_output.requires_grad:
            grad, ref_grad = grad_of(output, tags), grad_of(ref_output, tags)
            np.testing.assert_allclose(grad, ref_grad, rtol=0, atol=1e-6 * np.abs(ref_grad).max())
        else:
            assert_constant_term(output, tags)


def test_ae_loss_in_float64_matches_reference_loop():
    rng = np.random.default_rng(7)
    joints = make_joints(rng, 3, [30, 2, 1], 17, 8, True)
    tags = torch.tensor(rng.normal(0, 0.7, (3, 17, 8, 8)), dtype=torch.float64)
    for loss_type in LOSS_TYPES:
        push, pull = AELoss(loss_type)(tags, joints)
        ref_push, ref_pull = reference_ae_loss(tags, joints, loss_type)
        assert push.dtype == pull.dtype == torch.float64
        np.testing.assert_allclose(push.numpy(), ref_push.numpy(), rtol=1e-12)
        np.testing.assert_allclose(pull.numpy(), ref_pull.numpy(), rtol=1e-12)


def test_no_person_and_one_person_give_constants():
    tags = torch.randn(2, 17, 8, 8, requires_grad=True)
    joints = torch.zeros(2, 30, 17, 2, dtype=torch.int32)
    push, pull = AELoss("exp")(tags, joints)
    assert_constant_term(push, tags) and assert_constant_term(pull, tags)
    assert push.tolist() == pull.tolist() == [0.0, 0.0]

    joints[1, 4, 3] = torch.tensor([3 * 64 + 9, 1])
    joints[1, 4, 5] = torch.tensor([5 * 64 + 10, 1])
    push, pull = AELoss("max")(tags, joints)
    assert_constant_term(push, tags) and pull.requires_grad
    values = tags.detach().reshape(2, -1)[1, [3 * 64 + 9, 5 * 64 + 10]]
    assert pull[0].item() == 0.0
    assert pull[1].item() == pytest.approx(((values - values.mean()) ** 2).mean().item(), rel=1e-6)


def test_unflagged_slots_are_never_read():
    tags = torch.randn(1, 17, 8, 8)
    joints = torch.zeros(1, 30, 17, 2, dtype=torch.int64)
    joints[0, 0, 0] = torch.tensor([5, 1])
    joints[0, 0, 1] = torch.tensor([7, 1])
    joints[0, 1, 2] = torch.tensor([2 * 64 + 1, 1])
    joints[0, 1, 3] = torch.tensor([3 * 64 + 60, 2])  # flags > 0 all count
    clean = AELoss("exp")(tags, joints)
    joints[0, 2:, :, 0] = 10 ** 9  # unflagged slots with out-of-range indices
    joints[0, :2, 4:, 0] = 11
    tags_with_nan = tags.clone()
    tags_with_nan.view(-1)[0] = float("nan")  # index 0, where unflagged slots point in JointsGenerator targets
    tags_with_nan.view(-1)[11] = float("nan")
    dirty = AELoss("exp")(tags_with_nan, joints)
    for clean_output, dirty_output in zip(clean, dirty):
        assert torch.equal(clean_output, dirty_output)


def test_duplicate_index_gives_both_persons_the_value():
    tags = torch.randn(1, 2, 4, 4, requires_grad=True)
    joints = torch.zeros(1, 30, 2, 2, dtype=torch.int32)
    joints[0, 0] = torch.tensor([[3, 1], [16 + 5, 1]])
    joints[0, 1] = torch.tensor([[3, 1], [16 + 9, 1]])  # joint 0 of both persons on the same pixel
    push, pull = AELoss("exp")(tags, joints)
    flat = tags.detach().view(-1)
    mean_a, mean_b = (flat[3] + flat[21]) / 2, (flat[3] + flat[25]) / 2
    expected_pull = (((flat[3] - flat[21]) / 2) ** 2 + ((flat[3] - flat[25]) / 2) ** 2) / 2
    assert pull.item() == pytest.approx(expected_pull.item(), rel=1e-6)
    assert push.item() == pytest.approx(torch.exp(-(mean_a - mean_b) ** 2).item() * 0.5, rel=1e-6)
    (grad,) = torch.autograd.grad(pull.sum(), tags)
    expected_grad_3 = ((flat[3] - flat[21]) / 2 + (flat[3] - flat[25]) / 2) / 2  # both persons contribute
    assert grad.view(-1)[3].item() == pytest.approx(expected_grad_3.item(), rel=1e-5)


def test_ae_loss_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown AE loss type 'square'"):
        AELoss("square")
    with pytest.raises(ValueError, match="must be \\(B, P, J, 2\\)"):
        AELoss("exp")(torch.zeros(2, 17, 4, 4), torch.zeros(1, 30, 17, 2, dtype=torch.int32))


def test_heatmap_loss_denominator_counts_masked_pixels():
    pred = torch.zeros(2, 3, 4, 4, dtype=torch.float64)
    gt = torch.zeros_like(pred)
    pred[0, 1, 2, 3] = 2.0
    pred[1, 0, 0, 0] = 3.0
    pred[1, 2, 1, 1] = 5.0
    mask = torch.ones(2, 4, 4, dtype=torch.float64)
    mask[1, 1, 1] = 0.0  # masks pixel (1, 1) of every joint of image 1
    loss = HeatmapLoss()(pred, gt, mask)
    assert loss.shape == (2,)
    assert loss.tolist() == [4.0 / 48, 9.0 / 48]


def test_heatmap_loss_float32_parity_with_official_reduction():
    generator = torch.Generator().manual_seed(0)
    pred, gt = torch.rand(2, 17, 32, 32, generator=generator), torch.rand(2, 17, 32, 32, generator=generator)
    mask = (torch.rand(2, 32, 32, generator=generator) > 0.2).float()
    loss = HeatmapLoss()(pred, gt, mask)
    official_order = ((pred - gt) ** 2 * mask[:, None]).mean(dim=3).mean(dim=2).mean(dim=1)
    assert torch.equal(loss, official_order)
    float64 = ((pred.double() - gt.double()) ** 2 * mask[:, None].double()).mean(dim=(1, 2, 3))
    np.testing.assert_allclose(loss.numpy(), float64.numpy(), rtol=1e-6)


@pytest.mark.parametrize("shape, dtype", [((2, 17, 64, 64), torch.float32), ((3, 5, 17, 13), torch.float32),
                                          ((2, 4, 9, 9), torch.float64), ((2, 17, 32, 32), torch.bfloat16)])
def test_heatmap_loss_values_and_gradient_bit_identical_to_official_autograd(shape, dtype):
    generator = torch.Generator().manual_seed(1)
    batch, joints, height, width = shape
    # The prediction is a channel slice of a wider output, as the factory passes it.
    output = torch.randn(batch, 2 * joints, height, width, generator=generator).to(dtype)
    gt = torch.rand(batch, joints, height, width, generator=generator)
    mask = (torch.rand(batch, height, width, generator=generator) > 0.2).float()
    weights = torch.randn(batch, generator=generator)
    results = []
    for loss_fn in (HeatmapLoss(), official_heatmap_loss):
        leaf = output.clone().requires_grad_()
        loss = loss_fn(leaf[:, :joints], gt, mask)
        (loss * weights).sum().backward()
        results.append((loss.detach(), leaf.grad))
    (fast_loss, fast_grad), (official_loss, official_grad) = results
    assert fast_loss.dtype == official_loss.dtype and fast_grad.dtype == official_grad.dtype == dtype
    assert torch.equal(fast_loss, official_loss)
    assert torch.equal(fast_grad, official_grad)
    assert torch.count_nonzero(fast_grad[:, joints:]) == 0 and torch.count_nonzero(fast_grad[:, :joints]) > 0


def test_heatmap_loss_gradient_flows_to_targets_that_require_it():
    generator = torch.Generator().manual_seed(2)
    pred = torch.randn(2, 3, 8, 8, generator=generator, requires_grad=True)
    gt = torch.rand(2, 3, 8, 8, generator=generator, requires_grad=True)
    mask = torch.ones(2, 8, 8)
    HeatmapLoss()(pred, gt, mask).sum().backward()
    assert torch.equal(gt.grad, -pred.grad)


def tiny_loss_config(ae_loss_type):
    """The LOSS / MODEL keys of the tiny config (shared/tiny/tiny_coco.yaml) used for loss_small."""
    cfg = CfgNode()
    cfg.MODEL = CfgNode({"NUM_JOINTS": 17, "TAG_PER_JOINT": True})
    cfg.LOSS = CfgNode({"NUM_STAGES": 2, "WITH_HEATMAPS_LOSS": [True, True], "HEATMAPS_LOSS_FACTOR": [1.0, 1.0],
                        "WITH_AE_LOSS": [True, False], "PUSH_LOSS_FACTOR": [0.001, 0.001],
                        "PULL_LOSS_FACTOR": [0.001, 0.001], "AE_LOSS_TYPE": ae_loss_type})
    return cfg


@pytest.mark.parametrize("loss_type", LOSS_TYPES)
def test_loss_small_end_to_end(shared, loss_type):
    arrays = np.load(shared / "train" / "loss_small.npz")
    meta = json.loads((shared / "train" / "loss_small.json").read_text())[loss_type]
    outputs = [torch.tensor(arrays[f"pred{stage}"], requires_grad=True) for stage in range(2)]
    heatmaps = [torch.from_numpy(arrays[f"heatmaps{stage}"]) for stage in range(2)]
    masks = [torch.from_numpy(arrays[f"mask{stage}"]) for stage in range(2)]
    joints = [torch.from_numpy(arrays[f"joints{stage}"]) for stage in range(2)]

    factory = MultiLossFactory.from_config(tiny_loss_config(loss_type))
    heatmaps_losses, push_losses, pull_losses = factory(outputs, heatmaps, masks, joints)
    assert push_losses[1] is None and pull_losses[1] is None
    per_image = {"stage0_heatmaps": heatmaps_losses[0], "stage0_push": push_losses[0],
                 "stage0_pull": pull_losses[0], "stage1_heatmaps": heatmaps_losses[1]}
    for name, values in per_image.items():
        assert values.shape == (2,)
        np.testing.assert_allclose(values.detach().numpy(), arrays[f"{loss_type}.{name}"], rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(values.detach().numpy(), meta[name], rtol=1e-6, err_msg=name)

    loss, components = total_loss(heatmaps_losses, push_losses, pull_losses)
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), arrays[f"{loss_type}.loss"], rtol=1e-6)
    np.testing.assert_allclose(loss.item(), meta["loss"], rtol=1e-6)
    assert sorted(components) == sorted(per_image)
    for name, values in per_image.items():
        assert components[name] == pytest.approx(values.mean().item(), rel=1e-7)

    loss.backward()
    for stage in range(2):
        expected_grad = arrays[f"{loss_type}.grad_pred{stage}"]
        scale = np.abs(expected_grad).max()
        assert scale > 0
        np.testing.assert_allclose(outputs[stage].grad.numpy(), expected_grad, rtol=0, atol=1e-6 * scale)


def test_factory_tags_without_heatmap_loss_start_at_channel_zero():
    factory = MultiLossFactory(num_joints=2, num_stages=1, with_heatmaps_loss=[False], heatmaps_loss_factor=[1.0],
                               with_ae_loss=[True], push_loss_factor=[1.0], pull_loss_factor=[1.0],
                               ae_loss_type="max")
    output = torch.randn(1, 2, 4, 4)
    joints = torch.zeros(1, 30, 2, 2, dtype=torch.int32)
    joints[0, 0] = torch.tensor([[1, 1], [2, 1]])  # channel 0 (a "heatmap" channel): official offset 0
    heatmaps_losses, push_losses, pull_losses = factory([output], [None], [None], [joints])
    assert heatmaps_losses == [None]
    flat = output.view(-1)
    assert pull_losses[0].item() == pytest.approx(((flat[1] - flat[2]) / 2).pow(2).item(), rel=1e-6)
    with pytest.raises(ValueError, match="stage 0 has an AE loss but no heatmap loss"):
        total_loss(heatmaps_losses, push_losses, pull_losses)


def test_factory_applies_factors_and_switches():
    factory = MultiLossFactory(num_joints=3, num_stages=2, with_heatmaps_loss=[True, False],
                               heatmaps_loss_factor=[2.0, 1.0], with_ae_loss=[True, False],
                               push_loss_factor=[0.5, 1.0], pull_loss_factor=[0.25, 1.0], ae_loss_type="exp")
    generator = torch.Generator().manual_seed(1)
    output = torch.randn(2, 6, 4, 4, generator=generator)
    heatmaps, mask = torch.rand(2, 3, 4, 4, generator=generator), torch.ones(2, 4, 4)
    joints = make_joints(np.random.default_rng(1), 2, [3, 2], 3, 4, True)
    heatmaps_losses, push_losses, pull_losses = factory([output, None], [heatmaps, None], [mask, None],
                                                        [torch.from_numpy(joints), None])
    assert heatmaps_losses[1] is None and push_losses[1] is None and pull_losses[1] is None
    assert torch.equal(heatmaps_losses[0], HeatmapLoss()(output[:, :3], heatmaps, mask) * 2.0)
    push, pull = AELoss("exp")(output[:, 3:], joints)
    assert torch.equal(push_losses[0], push * 0.5)
    assert torch.equal(pull_losses[0], pull * 0.25)
    loss, components = total_loss(heatmaps_losses, push_losses, pull_losses)
    assert sorted(components) == ["stage0_heatmaps", "stage0_pull", "stage0_push"]
    expected = heatmaps_losses[0].mean() + push_losses[0].mean() + pull_losses[0].mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-7)


def test_factory_validation_messages():
    arguments = dict(num_joints=17, num_stages=2, with_heatmaps_loss=[True, True], heatmaps_loss_factor=[1.0, 1.0],
                     with_ae_loss=[True, False], push_loss_factor=[0.001, 0.001],
                     pull_loss_factor=[0.001, 0.001], ae_loss_type="exp", tag_per_joint=True)
    with pytest.raises(ValueError, match="heatmaps_loss_factor has 1 entries, expected num_stages = 2"):
        MultiLossFactory(**{**arguments, "heatmaps_loss_factor": [1.0]})
    with pytest.raises(ValueError, match="with_ae_loss must be a list or tuple"):
        MultiLossFactory(**{**arguments, "with_ae_loss": True})
    with pytest.raises(ValueError, match="unknown AE loss type 'l2'"):
        MultiLossFactory(**{**arguments, "ae_loss_type": "l2"})

    factory = MultiLossFactory(**arguments)
    outputs = [torch.zeros(1, 34, 4, 4), torch.zeros(1, 17, 8, 8)]
    heatmaps = [torch.zeros(1, 17, 4, 4), torch.zeros(1, 17, 8, 8)]
    masks = [torch.ones(1, 4, 4), torch.ones(1, 8, 8)]
    joints = [torch.zeros(1, 30, 17, 2, dtype=torch.int32)] * 2
    with pytest.raises(ValueError, match="masks must be a list with num_stages = 2 entries, got 1 entries"):
        factory(outputs, heatmaps, masks[:1], joints)
    with pytest.raises(ValueError, match="outputs must be a list .* got Tensor"):
        factory(outputs[0], heatmaps, masks, joints)
    with pytest.raises(ValueError, match="stage 0: 1 tag channels after the heatmaps, expected 17"):
        factory([torch.zeros(1, 18, 4, 4), outputs[1]], heatmaps, masks, joints)
    with pytest.raises(ValueError, match="differ in shape"):
        factory(outputs, [heatmaps[0], heatmaps[0]], masks, joints)
    heatmaps_losses, push_losses, pull_losses = factory(outputs, heatmaps, masks, joints)
    assert [loss is None for loss in push_losses] == [False, True]
    with pytest.raises(ValueError, match="loss lists differ in length"):
        total_loss(heatmaps_losses, push_losses[:1], pull_losses)
    with pytest.raises(ValueError, match="no loss term is on"):
        total_loss([None, None], [None, None], [None, None])
