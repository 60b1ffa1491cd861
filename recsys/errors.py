"""Exception types: every error a user can act on derives from :class:`RecsysError`, and the
command line prints it as one line and exits non-zero without a traceback."""


class RecsysError(Exception):
    """Base of the errors whose message tells the user what is wrong and how to fix it."""


class InputError(RecsysError):
    """An input file or folder cannot be read at all (missing, empty, truncated, wrong format)."""


class MissingInputError(RecsysError):
    """A table a job cannot do without has not been written yet."""
