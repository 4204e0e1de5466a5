"""The one exception type of the config package."""
from higherhrnet.errors import UserError


class ConfigError(UserError, ValueError):
    """A configuration file, override or value is invalid. The message is one line and names the key."""
