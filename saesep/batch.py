"""Batches: which audio files a command line names, and where each file's outputs go.

The safety policy of a batch lives here, in one place:

- an output never replaces an input of the batch (by path, symlink or hard link);
- an output never lands outside the output folder (templates and target names are
  checked, and the resolved path must lie under the folder);
- two inputs never write the same output file;
- names too long for the file system are refused before any work.
"""

from __future__ import annotations

import glob
import os
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .errors import SaesepError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".m4a", ".opus", ".wma", ".aac")
DEFAULT_TEMPLATE = "{track}/{target}.{ext}"
# template fields; ``stem`` and ``filename`` are older spellings of ``target`` and ``track``
TEMPLATE_FIELDS = ("track", "target", "ext", "stem", "filename")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")


def shown(path) -> str:
    """``path`` as text that prints on any terminal (undecodable bytes as ``\\xNN``)."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


def check_name(name: str, what: str = "target") -> str:
    """A target (stem) name: letters, digits, ``_ . + -``, never a path."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise SaesepError(f"{what} name {name!r} is not a plain name (letters, digits, '_', '.', '+', '-'; "
                          "at most 64 characters)")
    return name


def check_template(template: str) -> str:
    """An output path template: fields among ``{track}``, ``{target}``, ``{ext}``, relative, no ``..``."""
    if not template or not template.strip():
        raise SaesepError("--filename template is empty")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        raise SaesepError(f"bad --filename template {template!r}: {e}") from None
    for _, name, spec, conv in parts:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            raise SaesepError(f"bad --filename template {template!r}: unknown field {{{name}}} "
                              "(use {track}, {target}, {ext})")
        if spec or conv:
            raise SaesepError(f"bad --filename template {template!r}: fields take no format spec or conversion")
    if os.path.isabs(template) or template.startswith("~"):
        raise SaesepError(f"--filename template {template!r} must be relative to the output folder")
    if ".." in Path(template).parts:
        raise SaesepError(f"--filename template {template!r} must not contain '..' (outputs stay under -o)")
    return template


def track_name(input_path) -> str:
    """The track's name: the file name without extension, or the folder's for MUSDB-style ``<track>/mixture.wav``."""
    p = Path(input_path)
    if p.stem == "mixture" and p.parent.name:
        return Path(os.path.abspath(p)).parent.name
    return p.stem


def _name_max(folder: Path) -> int:
    for d in (folder, *folder.parents):
        try:
            return os.pathconf(d, "PC_NAME_MAX")
        except (OSError, ValueError):
            continue
    return 255


def output_path(input_path, out_dir, target: str, fmt: str, template: str = DEFAULT_TEMPLATE) -> Path:
    """Where ``input_path``'s output for ``target`` goes; always under ``out_dir``."""
    check_template(template)
    check_name(target)
    rel = template.format(track=track_name(input_path), target=target, ext=fmt, stem=target,
                          filename=track_name(input_path))
    out_dir = Path(out_dir)
    path = out_dir / rel
    try:
        root, real = out_dir.resolve(), path.resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop
        raise SaesepError(f"cannot resolve output '{shown(path)}': {e}") from None
    if real == root or root not in real.parents:
        raise SaesepError(f"output '{shown(path)}' for '{shown(input_path)}' would lie outside the output "
                          f"folder '{shown(out_dir)}'")
    limit = _name_max(path.parent)
    for part in Path(rel).parts:
        if len(os.fsencode(part)) > limit:
            raise SaesepError(f"output name '{shown(part)[:40]}…' is too long for the file system "
                              f"({len(os.fsencode(part))} bytes, at most {limit})")
    return path


def _identity(path: Path):
    try:
        st = os.stat(path)
        return st.st_dev, st.st_ino
    except (OSError, ValueError):
        return None


@dataclass
class Job:
    """One input of a batch and its planned outputs (``error``: why it will not run)."""

    input: Path
    outputs: dict[str, Path] = field(default_factory=dict)
    error: str | None = None


def plan(files: Iterable[Path], out_dir, names: list[str], fmt: str, template: str = DEFAULT_TEMPLATE) -> list[Job]:
    """The outputs of every file, with the batch's safety policy applied (see the module's docstring).

    A file whose outputs would replace an input of the batch, or another file's output,
    gets an ``error`` and is not processed; the others run as planned.
    """
    check_template(template)
    files = list(files)
    input_paths = {os.path.realpath(f) for f in files}
    input_ids = {i for i in (_identity(f) for f in files) if i is not None}
    claimed: dict[str, Path] = {}
    jobs = []
    for f in files:
        job = Job(f)
        try:
            outs = {n: output_path(f, out_dir, n, fmt, template) for n in names}
            if len({os.path.realpath(p) for p in outs.values()}) != len(outs):
                raise SaesepError(f"--filename template '{template}' gives the same path for several outputs; "
                                  "use {target}")
            for p in outs.values():
                real, ident = os.path.realpath(p), _identity(p)
                if real in input_paths or (ident is not None and ident in input_ids):
                    raise SaesepError(f"output '{shown(p)}' would overwrite an input of this batch; "
                                      "choose another -o or --filename")
                if real in claimed:
                    raise SaesepError(f"'{shown(f)}' would write '{shown(p)}', as '{shown(claimed[real])}' does; "
                                      "use --filename with a unique {track}")
            for p in outs.values():
                claimed[os.path.realpath(p)] = f
            job.outputs = outs
        except SaesepError as e:
            job.error = str(e)
        jobs.append(job)
    return jobs


def _audio_files_in(d: Path) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(d, onerror=None):  # followlinks=False: no symlink loops
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for n in sorted(names):
            p = Path(root) / n
            # hidden files are skipped, among them the .partial files of a killed run
            if not n.startswith(".") and p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file():
                found.append(p)
    return found


def find_audio_files(specs: Iterable[str], stdin_lines: Iterable[str] | None = None
                     ) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand files, folders (recursively, audio extensions only), globs and ``-`` (paths on stdin).

    Returns ``(files, problems)``; ``problems`` are ``(spec, one-line message)`` for the specs
    that name nothing usable (a glob or folder without audio, a path with a NUL byte, a
    symlink loop). Files that do not exist are returned, to be reported in order.
    """
    files: list[Path] = []
    problems: list[tuple[str, str]] = []

    def add(spec: str, from_stdin: bool = False):
        if "\0" in spec:
            problems.append((shown(spec.replace("\0", "\\0")), "path contains a NUL byte"))
            return
        p = Path(spec)
        try:
            if p.is_dir():
                found = _audio_files_in(p)
                if not found:
                    problems.append((spec, f"no audio files in folder '{shown(p)}'"))
                files.extend(found)
            elif not from_stdin and not p.exists() and glob.has_magic(spec):
                matched = sorted(Path(m) for m in glob.glob(spec, recursive=True))
                matched = [m for m in matched if m.suffix.lower() in AUDIO_EXTENSIONS and m.is_file()]
                if not matched:
                    problems.append((spec, f"no audio files match '{shown(spec)}'"))
                files.extend(matched)
            else:
                files.append(p)  # reported as missing or unreadable when processed, in order
        except OSError as e:
            problems.append((spec, f"cannot read '{shown(p)}': {e.strerror or e}"))

    for spec in specs:
        if spec == "-":
            for line in stdin_lines or []:
                line = line.rstrip("\r\n")
                if line.strip():
                    add(line, from_stdin=True)
        else:
            add(spec)
    seen, unique = set(), []
    for f in files:
        key = os.path.realpath(f)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, problems
