"""Test-time codec: from an image to network inputs, and from network outputs to persons (algorithm.md §6).

    resize.py          test-scale input size, centre/scale and warp               (algorithm.md §6.2)
    aggregation.py     stage / flip / scale aggregation of the network outputs    (algorithm.md §6.3, 6.4)
    candidates.py      max-pool NMS and per-joint top-k                           (algorithm.md §6.5)
    matching.py        associative-embedding grouping, Munkres assignment         (algorithm.md §6.6)
    hungarian.py       munkres 1.1.4's assignment algorithm, re-implemented on NumPy arrays
    refinement.py      quarter-pixel adjust, person scores, refine                (algorithm.md §6.7-6.9)
    parser.py          parse(): the decoder entry point (official HeatmapParser.parse)
    backprojection.py  heatmap pixels -> image pixels                             (algorithm.md §6.10)
    reference.py       the official loop formulation of the decoder steps (tests, FAST_DECODER off)
"""
from higherhrnet.codec.aggregation import (accumulate_scale, aggregate_stage_outputs, finish_aggregation,
                                           scales_in_processing_order)
from higherhrnet.codec.backprojection import get_final_preds
from higherhrnet.codec.decoder_params import DecoderParams
from higherhrnet.codec.matching import grouping_joint_order, match_by_tag
from higherhrnet.codec.parser import parse
from higherhrnet.codec.resize import get_multi_scale_size, resize_align_multi_scale

__all__ = [
    "DecoderParams", "accumulate_scale", "aggregate_stage_outputs", "finish_aggregation", "get_final_preds",
    "get_multi_scale_size", "grouping_joint_order", "match_by_tag", "parse", "resize_align_multi_scale",
    "scales_in_processing_order",
]
