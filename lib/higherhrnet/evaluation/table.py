"""The official three-line Markdown AP table (algorithm.md §7.4), returned as lines for the caller to log.

    | Arch | AP | Ap .5 | ... |
    |---|---|...|---|
    | pose_hig... | 0.234 | 0.733 | ... |
"""

MAX_ARCH_NAME_LENGTH = 15


def short_arch_name(arch_name):
    """The model name as printed: names longer than 15 characters become their first 8 plus '...'."""
    if len(arch_name) > MAX_ARCH_NAME_LENGTH:
        return arch_name[:8] + "..."
    return arch_name


def name_value_table_lines(name_values, arch_name):
    """Header, separator and data row of the AP table.

    name_values: ordered (name, value) pairs, or a mapping name -> value. arch_name: MODEL.NAME.
    Values are written with 3 decimals; the separator is '|---' once per column (Arch included) then '|'.
    """
    pairs = list(name_values.items()) if hasattr(name_values, "items") else list(name_values)
    header = "| Arch " + " ".join(f"| {name}" for name, _ in pairs) + " |"
    separator = "|---" * (len(pairs) + 1) + "|"
    row = "| " + short_arch_name(arch_name) + " " + " ".join(f"| {value:.3f}" for _, value in pairs) + " |"
    return [header, separator, row]
