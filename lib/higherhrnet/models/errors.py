"""Exceptions of the models package. Messages are one line."""


class ModelConfigError(ValueError):
    """MODEL.EXTRA (or another model setting) describes a network that cannot be built."""


class CheckpointError(ValueError):
    """A weights file is missing, unreadable, or does not fit the model."""


class DeviceError(ValueError):
    """A device name is malformed or names a device this machine does not have."""
