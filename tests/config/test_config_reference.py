"""docs/config_reference.md is generated from defaults.py and must stay in sync with it."""
from higherhrnet.config import get_cfg
from higherhrnet.config.reference import reference_markdown


def _leaf_keys(node, prefix=""):
    for key, value in node.items():
        if hasattr(value, "items"):
            yield from _leaf_keys(value, prefix + key + ".")
        else:
            yield prefix + key


def test_committed_reference_is_up_to_date(repo):
    committed = (repo / "docs" / "config_reference.md").read_text()
    assert committed == reference_markdown(), \
        "regenerate: python -m higherhrnet.config.reference > docs/config_reference.md"


def test_reference_lists_every_key():
    text = reference_markdown()
    missing = [key for key in _leaf_keys(get_cfg()) if f"| `{key}` |" not in text]
    assert not missing, missing
