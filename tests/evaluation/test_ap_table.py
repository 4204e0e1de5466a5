"""The official Markdown AP table (algorithm.md §7.4), exact strings."""
from higherhrnet.evaluation import name_value_table_lines
from higherhrnet.evaluation.table import short_arch_name

SETTING_A = [("AP", 0.23375495516027323), ("Ap .5", 0.7331598544469834), ("AP .75", 0.15445544554455443),
             ("AP (M)", 0.12277227722772277), ("AP (L)", 0.32728479369676095), ("AR", 0.33333333333333337),
             ("AR .5", 0.8333333333333334), ("AR .75", 0.25), ("AR (M)", 0.12000000000000002),
             ("AR (L)", 0.48571428571428565)]


def test_coco_table_exact_lines():
    assert name_value_table_lines(SETTING_A, "pose_higher_hrnet") == [
        "| Arch | AP | Ap .5 | AP .75 | AP (M) | AP (L) | AR | AR .5 | AR .75 | AR (M) | AR (L) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        "| pose_hig... | 0.234 | 0.733 | 0.154 | 0.123 | 0.327 | 0.333 | 0.833 | 0.250 | 0.120 | 0.486 |",
    ]


def test_mapping_input_null_table_and_short_names():
    assert name_value_table_lines({"Null": 0}, "tiny") == ["| Arch | Null |", "|---|---|", "| tiny | 0.000 |"]
    crowd = [("AP (easy)", -1.0), ("AP (hard)", 0.66666)]
    assert name_value_table_lines(crowd, "pose_hrnet")[2] == "| pose_hrnet | -1.000 | 0.667 |"
    assert short_arch_name("x" * 15) == "x" * 15
    assert short_arch_name("abcdefghijklmnop") == "abcdefgh..."
