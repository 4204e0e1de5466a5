"""The error a user's input causes, as opposed to a bug.

Every exception the package raises for bad input (a config key, a file, an image, a checkpoint, a device)
derives from `UserError`, and its message is one line that names the file or key and what is wrong. The
command-line tools print such an error as `error: <message>` (`one_line`) and exit with status 1;
anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input: a one-line message naming the file or config key and what is wrong with it."""


class OutputFolderError(UserError, OSError):
    """OUTPUT_DIR / LOG_DIR (or a tool's output path) cannot be created or written."""


class EmptySplitError(UserError, ValueError):
    """An annotation file lists no image for the split."""


class ConfigError(UserError, ValueError):
    """A configuration file, override or value is invalid. The message is one line and names the key.

    Defined here (and re-exported by higherhrnet.config) so that the data, loss and decoding modules that
    meet a bad config value can raise it without importing the config package.
    """


class UsageError(UserError, ValueError):
    """A command-line option or API argument that cannot be used as given (not a config key, not a file)."""


# What the tools report as one line: the package's UserErrors only. Every input check raises one (they
# also subclass ValueError, OSError, ... where callers catch those), so a plain ValueError or
# FileNotFoundError is a bug and keeps its traceback.
REPORTED_ERRORS = (UserError,)


class MissingDependencyError(UserError, ImportError):
    """An optional package (an extra of setup.py) that a feature needs is not installed."""


def import_optional(module, extra):
    """Import `module` (e.g. 'onnxruntime'), or raise MissingDependencyError naming the pip extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependencyError(f"{module} is not installed ({error}); install it with "
                                     f"pip install 'higherhrnet[{extra}]'") from error


def one_line(error):
    """The message of a reported error as one line.

    An error raised in a DataLoader worker comes back re-raised with the worker's traceback as its message
    ("Caught ImageReadError in DataLoader worker process 0. Original Traceback ... ImageReadError: <msg>");
    the original message is its last line.
    """
    text = str(error).strip()
    lines = text.splitlines()
    if len(lines) > 1 and lines[0].startswith("Caught ") and "DataLoader worker" in lines[0]:
        last = lines[-1]
        name = type(error).__name__
        marker = f"{name}: "
        return last.split(marker, 1)[1] if marker in last else last
    return lines[0] if lines else type(error).__name__
