"""The one exception type of the config package (defined in higherhrnet.errors, where every module finds it)."""
from higherhrnet.errors import ConfigError

__all__ = ["ConfigError"]
