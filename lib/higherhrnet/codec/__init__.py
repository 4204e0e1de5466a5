"""Test-time codec: from an image to network inputs, and from network outputs to persons (SPEC 6).

    resize.py          test-scale input size, centre/scale and warp               (SPEC 6.2)
    aggregation.py     stage / flip / scale aggregation of the network outputs    (SPEC 6.3, 6.4)
    map_blocks.py      blocks of 2x-resized maps computed on demand, bit for bit; bounds of them
    tag_maps.py        the projected tag maps, computed only where the decoder reads them (fast path)
    heat_maps.py       the projected heatmaps, computed only where the decoder reads them (fast path)
    candidates.py      max-pool NMS and per-joint top-k                           (SPEC 6.5)
    matching.py        associative-embedding grouping, Munkres assignment         (SPEC 6.6)
    hungarian.py       munkres 1.1.4's assignment algorithm, re-implemented on NumPy arrays
    refinement.py      quarter-pixel adjust, person scores, refine                (SPEC 6.7-6.9)
    parser.py          parse(): the decoder entry point (official HeatmapParser.parse)
    backprojection.py  heatmap pixels -> image pixels                             (SPEC 6.10)
    reference.py       the official loop formulation of the decoder steps (tests, FAST_DECODER off)
"""
from higherhrnet.codec.aggregation import (accumulate_scale, aggregate_stage_outputs, finish_aggregation,
                                           scales_in_processing_order)
from higherhrnet.codec.backprojection import get_final_preds
from higherhrnet.codec.heat_maps import ProjectedHeatmaps, build_projected_heatmaps
from higherhrnet.codec.matching import grouping_joint_order, match_by_tag
from higherhrnet.codec.parser import parse
from higherhrnet.codec.resize import get_multi_scale_size, resize_align_multi_scale
from higherhrnet.codec.tag_maps import ProjectedTagMaps, build_projected_tag_maps

__all__ = [
    "ProjectedHeatmaps", "ProjectedTagMaps", "accumulate_scale", "aggregate_stage_outputs",
    "build_projected_heatmaps", "build_projected_tag_maps",
    "finish_aggregation", "get_final_preds",
    "get_multi_scale_size", "grouping_joint_order", "match_by_tag", "parse", "resize_align_multi_scale",
    "scales_in_processing_order",
]
