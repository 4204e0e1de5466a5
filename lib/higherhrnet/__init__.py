"""HigherHRNet: bottom-up multi-person pose estimation (Cheng et al., CVPR 2020), a faithful reimplementation.

Data flows one way through the sub-packages:
config -> data (datasets, transforms, targets) -> models -> losses        (training)
config -> codec (test resize, aggregation, grouping) -> evaluation        (testing)
`engine` holds the loops that tie them together; `tools/` holds thin command-line scripts.
Docstrings cite the repository's docs/algorithm.md as `algorithm.md §6.5` (sections) or `algorithm.md B11`
(quirks and decisions).
"""
__version__ = "0.1.0"


def __getattr__(name):
    """`higherhrnet.Predictor` is imported on first use, so `import higherhrnet` stays light."""
    if name == "Predictor":
        from higherhrnet.predictor import Predictor
        return Predictor
    raise AttributeError(f"module 'higherhrnet' has no attribute {name!r}")
