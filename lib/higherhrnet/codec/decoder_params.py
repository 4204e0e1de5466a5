"""DecoderParams: every switch and threshold of the decoder (`parse`), read once from the config.

The defaults are the values of the official experiment YAMLs (algorithm.md §6.5-6.9), so
`DecoderParams()` decodes as the official `HeatmapParser` does with them.
"""
from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class DecoderParams:
    """The decoder's parameters as plain values; `from_config` maps the config keys onto them."""
    max_people: int = 30                 # DATASET.MAX_NUM_PEOPLE: top-k per joint and at most this many persons
    detection_threshold: float = 0.1     # TEST.DETECTION_THRESHOLD: candidates below it are never grouped
    tag_threshold: float = 1.0           # TEST.TAG_THRESHOLD: largest tag distance that joins a candidate to a person
    use_detection_val: bool = True       # TEST.USE_DETECTION_VAL: matching cost = tag distance * 100 - heatmap value
    ignore_too_much: bool = False        # TEST.IGNORE_TOO_MUCH: no new person once max_people groups exist
    nms_kernel: int = 5                  # TEST.NMS_KERNEL: max-pool window of the heatmap NMS (pixels)
    nms_padding: int = 2                 # TEST.NMS_PADDING: padding of that max-pool
    tag_per_joint: bool = True           # MODEL.TAG_PER_JOINT: one tag map per joint (else one shared map)
    joint_order: Optional[Tuple[int, ...]] = None  # grouping order of the channels; None: grouping_joint_order(J)
    adjust: bool = True                  # TEST.ADJUST: quarter-pixel shift towards the higher neighbour
    refine: bool = True                  # TEST.REFINE: search the heatmaps for the joints a person lacks
    matcher: str = "munkres"             # TEST.MATCHER: 'munkres' (official tie-breaking) or 'scipy' (not bit-exact)
    fast: bool = True                    # TEST.FAST_DECODER: vectorised steps, or the official loops (same output)

    @classmethod
    def from_config(cls, cfg, layout):
        """The parameters of `cfg`; layout: its `KeypointLayout` (the grouping order of the joints).

        With DATASET.WITH_CENTER and TEST.IGNORE_CENTER the centre channel is dropped before decoding, so
        the grouping order leaves it out; with the centre kept it is grouped first.
        """
        drop_center = bool(cfg.DATASET.WITH_CENTER) and bool(cfg.TEST.IGNORE_CENTER)
        return cls(max_people=int(cfg.DATASET.MAX_NUM_PEOPLE),
                   detection_threshold=float(cfg.TEST.DETECTION_THRESHOLD),
                   tag_threshold=float(cfg.TEST.TAG_THRESHOLD),
                   use_detection_val=bool(cfg.TEST.USE_DETECTION_VAL),
                   ignore_too_much=bool(cfg.TEST.IGNORE_TOO_MUCH),
                   nms_kernel=int(cfg.TEST.NMS_KERNEL),
                   nms_padding=int(cfg.TEST.NMS_PADDING),
                   tag_per_joint=bool(cfg.MODEL.TAG_PER_JOINT),
                   joint_order=tuple(int(j) for j in layout.grouping_order(include_center=not drop_center)),
                   adjust=bool(cfg.TEST.ADJUST),
                   refine=bool(cfg.TEST.REFINE),
                   matcher=str(cfg.TEST.MATCHER),
                   fast=bool(cfg.TEST.FAST_DECODER))
