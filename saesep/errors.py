"""The one exception type users see: a one-line message, never a traceback."""


class SaesepError(Exception):
    """An error caused by the user's input (files, options, models).

    The CLI prints ``str(error)`` on one line and exits non-zero.
    """
