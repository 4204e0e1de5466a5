"""Exceptions of the models package. Messages are one line."""
from higherhrnet.errors import UserError


class ModelConfigError(UserError, ValueError):
    """MODEL.EXTRA (or another model setting) describes a network that cannot be built."""


class CheckpointError(UserError, ValueError):
    """A weights file is missing, unreadable, or does not fit the model."""


class DeviceError(UserError, ValueError):
    """A device name is malformed or names a device this machine does not have."""
