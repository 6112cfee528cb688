"""Files written safely: under a temporary name beside the final one, renamed when complete."""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from pathlib import Path

from . import stops
from .errors import SaesepError


@contextlib.contextmanager
def atomic_output(path, protect: tuple = ()):
    """Yield a temporary path next to ``path``; rename it to ``path`` only on success.

    A killed or failed run leaves no file under the final name, and no folder it made
    for it: a failed song leaves no empty output folder. ``protect`` lists input paths
    that must never be overwritten.
    """
    path = Path(path)
    for p in protect:
        if Path(p).exists() and path.exists() and os.path.samefile(p, path):
            raise SaesepError(f"refusing to overwrite the input file '{p}'")
    made = list(itertools.takewhile(lambda d: not d.exists(), (path.parent, *path.parent.parents)))  # deepest first
    # a short hidden name: it fits the file system whenever the final name does, and folder
    # scans skip it (a killed run's leftovers are never taken for inputs)
    stem = os.fsencode(path.stem)[:24].decode("utf-8", "ignore")
    tmp = None
    try:  # from the file's creation on: a stop signal at any point leaves no temporary file
        path.parent.mkdir(parents=True, exist_ok=True)
        with stops.held():  # not between the file's creation and ``tmp`` naming it
            fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".partial{path.suffix}", dir=path.parent)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
        yield Path(tmp)
        os.replace(tmp, path)
        made = []
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        for d in made:  # the folders made for this file, while empty (another file may be in them)
            try:
                d.rmdir()
            except FileNotFoundError:  # never made: the making failed below it
                continue
            except OSError:
                break
