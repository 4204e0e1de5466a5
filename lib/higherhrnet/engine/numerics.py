"""The numerical guard of training: a diverged run stops before it can save non-finite weights.

The loss values of every iteration already reach the host in batches (LossMeters.drain, at the logging
points and at the end of each epoch); the guard looks at those rows, so it costs no extra device-to-host
copy per iteration. Under torchrun the ranks agree on the verdict with one small all-reduce per check, so
every rank stops at the same point. Before a checkpoint is written the weights themselves are checked
(one copy per epoch): a NaN/Inf weight is never saved over the last good checkpoint or model_best.

With FP16.DYNAMIC_LOSS_SCALE the scaler skips the steps whose gradients overflow, as the official dynamic
scaler does, so isolated non-finite losses are allowed there; only `overflow_limit` non-finite losses in a
row (the scale has then been halved that many times) stop the run.
"""
import math

import torch

from ..errors import UserError
from .distributed import is_distributed


class NonFiniteTrainingError(UserError, FloatingPointError):
    """The loss or the weights became NaN / Inf: training diverged."""


# Consecutive non-finite losses tolerated under the dynamic loss scale: 2^32 halved this often is far
# below any useful scale, so the run cannot recover.
DYNAMIC_SCALE_OVERFLOW_LIMIT = 40


class TrainingGuard:
    """Checks the drained loss rows and the weights; raises NonFiniteTrainingError on every rank.

    lr: TRAIN.LR, named in the message; loss_scaling: MixedPrecision.scaling, 'none', 'static' (FP16 with
    FP16.STATIC_LOSS_SCALE) or 'dynamic' (FP16.DYNAMIC_LOSS_SCALE, a GradScaler skips overflowing steps);
    output_dir: the run folder whose earlier checkpoints are kept.
    """

    def __init__(self, lr, loss_scaling="none", output_dir=None, overflow_limit=DYNAMIC_SCALE_OVERFLOW_LIMIT):
        self.lr, self.output_dir = lr, output_dir
        self.loss_scaling, self.dynamic_scaling = loss_scaling, loss_scaling == "dynamic"
        self.overflow_limit = int(overflow_limit)
        self.consecutive_overflows = 0

    @classmethod
    def from_config(cls, cfg, precision, output_dir):
        return cls(cfg.TRAIN.LR, precision.scaling, output_dir)

    def _hint(self):
        where = f"; the checkpoints already in {self.output_dir} are kept" if self.output_dir is not None else ""
        scale = " or FP16.STATIC_LOSS_SCALE" if self.loss_scaling == "static" else ""
        return f"training diverged: lower TRAIN.LR (now {self.lr:g}){scale}{where}"

    def check_losses(self, rows, epoch, epoch_first_step):
        """rows: LossMeters.drain() output [(global step, lr, total loss, {term: value})], floats.

        epoch_first_step: the global step of the epoch's iteration 0 (names the iteration in the message).
        """
        problem = None
        for step, _, loss, terms in rows:
            if math.isfinite(loss):
                self.consecutive_overflows = 0
                continue
            self.consecutive_overflows += 1
            if not self.dynamic_scaling or self.consecutive_overflows >= self.overflow_limit:
                bad = ", ".join(f"{key} {value}" for key, value in terms.items() if not math.isfinite(value))
                run = (f" ({self.consecutive_overflows} in a row under FP16.DYNAMIC_LOSS_SCALE)"
                       if self.dynamic_scaling else "")
                problem = (f"non-finite loss {loss} at epoch {epoch}, iteration {step - epoch_first_step} "
                           f"(global step {step}){run}: {bad or 'total loss'}; {self._hint()}")
                break
        self._raise_if_any_rank(problem, "a non-finite loss")

    def check_weights(self, model, epoch):
        """Stop before saving when a floating-point parameter or buffer of `model` is NaN / Inf."""
        tensors = [t for t in model.state_dict().values() if t.is_floating_point()]
        finite = torch.stack([torch.isfinite(t).all() for t in tensors]).all().item() if tensors else True
        problem = None
        if not finite:
            names = [name for name, t in model.state_dict().items()
                     if t.is_floating_point() and not torch.isfinite(t).all()]
            problem = (f"non-finite weights after epoch {epoch} ({len(names)} tensors, e.g. {names[0]}), "
                       f"not saved; {self._hint()}")
        self._raise_if_any_rank(problem, "non-finite weights")

    @staticmethod
    def _raise_if_any_rank(problem, what):
        if is_distributed():
            import torch.distributed as dist
            flag = torch.tensor([0 if problem is None else 1], dtype=torch.int32,
                                device="cuda" if dist.get_backend() == "nccl" else "cpu")
            if flag.device.type == "cuda":
                flag = flag.to(torch.cuda.current_device())
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            if flag.item() and problem is None:
                problem = f"another rank stopped on {what}; see its error line"
        if problem is not None:
            raise NonFiniteTrainingError(problem)
