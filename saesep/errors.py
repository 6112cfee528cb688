"""The one exception type users see: a one-line message, never a traceback."""


class SaesepError(Exception):
    """An error caused by the user's input (files, options, models).

    The CLI prints ``str(error)`` on one line and exits non-zero.
    """


class Stopped(BaseException):
    """A stop signal (SIGINT, SIGTERM) arrived: unwinds like KeyboardInterrupt, so that
    temporary files are removed and worker processes stopped, then the CLI exits 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
