"""Errors that the command line reports as a message (no traceback): each says what to do next."""


class FrameworkError(Exception):
    """Base of the errors a user can fix; ``fig`` prints the message and exits with status 2."""


class ConfigError(FrameworkError, ValueError):
    """A config that cannot be composed or built: an unknown name, a missing key, a wrong type."""


class DataError(FrameworkError):
    """A dataset file that is missing, truncated or corrupt; the message names the file."""


class RunError(FrameworkError):
    """A path that is not a run, or a checkpoint that does not fit the run's config."""


class TrainingDiverged(FrameworkError):
    """A NaN or infinite loss; the last good checkpoint is kept."""
