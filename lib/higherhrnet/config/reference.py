"""The configuration reference (docs/config_reference.md), generated from the comments of defaults.py.

Each `_C.KEY = value  # comment` line of defaults.py becomes a table row; each boxed section heading
becomes a section. `python -m higherhrnet.config.reference > docs/config_reference.md` regenerates the
file, and a test fails when the committed file is out of date.
"""
import re
from pathlib import Path

_ASSIGNMENT = re.compile(r"^_C\.(?P<key>[A-Z0-9_.]+) = (?P<value>.+?)\s+# (?P<comment>.*)$")
_RULE = "# " + "-" * 10


def reference_markdown():
    """Markdown text of the configuration reference."""
    source = (Path(__file__).parent / "defaults.py").read_text().splitlines()
    lines = ["# Configuration reference", "",
             "Every key of the yacs configuration, its default and what it does (generated from",
             "`lib/higherhrnet/config/defaults.py` by `python -m higherhrnet.config.reference`). Keys marked",
             "[added] do not exist in the official code; their defaults keep the official behaviour. The",
             "library defaults are not the published test settings: the experiment YAMLs set those.",
             "Override any key on the command line of the tools: `KEY VALUE` pairs after the options.", ""]
    for index, line in enumerate(source):
        if line.startswith(_RULE) and index + 2 < len(source) and source[index + 2].startswith(_RULE):
            lines += ["", f"## {source[index + 1][2:].strip()}", "", "| key | default | meaning |", "|---|---|---|"]
            continue
        match = _ASSIGNMENT.match(line)
        if match and not match.group("value").startswith("CN("):
            value = match.group("value").replace("|", "\\|")
            comment = match.group("comment").replace("|", "\\|")
            lines.append(f"| `{match.group('key')}` | `{value}` | {comment} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference_markdown(), end="")
