"""HigherHRNet: bottom-up multi-person pose estimation (Cheng et al., CVPR 2020), a faithful reimplementation.

Data flows one way through the sub-packages:
config -> data (datasets, transforms) -> codec (targets) -> models -> losses     (training)
config -> codec (test resize, aggregation, grouping) -> evaluation              (testing)
`engine` holds the loops that tie them together; `tools/` holds thin command-line scripts.
Docstrings cite the repository's docs/algorithm.md as `algorithm.md §6.5` (sections) or `algorithm.md B11`
(quirks and decisions).
"""
__version__ = "0.1.0"
__all__ = ["Predictor", "Prediction", "Person", "__version__"]

_LAZY = ("Predictor", "Prediction", "Person")


def __getattr__(name):
    """`higherhrnet.Predictor` (and its Prediction / Person) are imported on first use, so `import higherhrnet`
    stays light (no torch)."""
    if name in _LAZY:
        from higherhrnet import predictor
        return getattr(predictor, name)
    raise AttributeError(f"module 'higherhrnet' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
