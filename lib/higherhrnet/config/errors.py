"""The one exception type of the config package."""


class ConfigError(ValueError):
    """A configuration file, override or value is invalid. The message is one line and names the key."""
