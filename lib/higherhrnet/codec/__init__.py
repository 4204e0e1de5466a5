"""The associative-embedding codec: encode keypoints into training targets, decode network outputs into persons.

Encode (training, algorithm.md §3.4-3.6): the joints (N, J, 3) of one sample, in pixels of an R x R output
map, become Gaussian heatmap targets (J, R, R) and tag-index targets (max_people, J, 2), the flat map index
of each visible joint of each person, where the associative-embedding loss (§5.2) reads the tags.
Decode (testing, algorithm.md §6.2-6.10): an image is resized for each test scale; the network's heatmaps and
tag maps are aggregated over stages, the flip and scales; candidates are grouped into persons by their tags,
refined and mapped back to image pixels. The two halves meet in the maps: decode reads, at the joints'
positions, the quantities encode writes there (heatmap peaks, and tags the loss has pulled together).

    targets.py         encode: heatmap and tag-index targets                      (algorithm.md §3.4, 3.6)
    resize.py          test-scale input size, centre/scale and warp               (algorithm.md §6.2)
    aggregation.py     stage / flip / scale aggregation of the network outputs    (algorithm.md §6.3, 6.4)
    candidates.py      max-pool NMS and per-joint top-k                           (algorithm.md §6.5)
    matching.py        associative-embedding grouping, Munkres assignment         (algorithm.md §6.6)
    hungarian.py       munkres 1.1.4's assignment algorithm, re-implemented on NumPy arrays
    refinement.py      quarter-pixel adjust, person scores, refine                (algorithm.md §6.7-6.9)
    decoder_params.py  DecoderParams: the decoder's thresholds and switches, from the config
    parser.py          parse(): the decoder entry point, §6.5-6.9 in order (official HeatmapParser.parse)
    backprojection.py  heatmap pixels -> image pixels                             (algorithm.md §6.10)
    reference.py       the official loop formulation of the decoder steps (tests, TEST.FAST_DECODER False)
"""
from higherhrnet.codec.aggregation import (accumulate_scale, aggregate_stage_outputs, finish_aggregation,
                                           scales_in_processing_order)
from higherhrnet.codec.backprojection import get_final_preds
from higherhrnet.codec.decoder_params import DecoderParams
from higherhrnet.codec.matching import grouping_joint_order, match_by_tag
from higherhrnet.codec.parser import parse
from higherhrnet.codec.resize import get_multi_scale_size, resize_align_multi_scale
from higherhrnet.codec.targets import HeatmapGenerator, JointsGenerator, heatmaps_from_points

__all__ = [
    "DecoderParams", "HeatmapGenerator", "JointsGenerator", "accumulate_scale", "aggregate_stage_outputs",
    "finish_aggregation", "get_final_preds", "get_multi_scale_size", "grouping_joint_order", "heatmaps_from_points",
    "match_by_tag", "parse", "resize_align_multi_scale", "scales_in_processing_order",
]
