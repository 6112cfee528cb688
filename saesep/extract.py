"""The file API: one audio file in, one file per target out, streamed and written atomically."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from . import audio as audio_io
from . import stops
from .batch import DEFAULT_TEMPLATE, plan, shown
from .errors import SaesepError
from .files import atomic_output
from .separation import SeparationOptions, _separate_stream


class Cancelled(SaesepError):
    """The caller's ``cancel`` event was set: the file was abandoned and nothing written."""


@dataclass
class FileResult:
    """What :func:`extract_file` wrote: ``outputs`` maps each target to its file;
    ``warnings`` are one-line notes (clipping) that did not stop the file."""

    input: str
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    audio_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def extract_file(input_path, models, out_dir, options: SeparationOptions | None = None,
                 fmt: str = "wav", bits: str = "16", template: str = DEFAULT_TEMPLATE,
                 progress: bool = False, block_seconds: float = 5.0, outputs: dict[str, Path] | None = None,
                 cancel: threading.Event | None = None) -> FileResult:
    """Separate one file into ``out_dir``, streamed: memory does not grow with the file's length.

    Outputs are at the input's sample rate, channel count and exact length, each written
    under a temporary name and renamed when complete (a failure or a stop leaves nothing).
    ``bits``: ``16``/``24`` (integer: samples beyond full scale are clipped, and a warning
    says how many) or ``float`` (wav only: values kept as they are).
    ``outputs``: the paths planned by :func:`saesep.batch.plan` (default: planned here,
    for this file alone). ``cancel``: set it to abandon the file (raises :class:`Cancelled`).
    ``block_seconds``: audio decoded (and written) at once.
    """
    from tqdm.auto import tqdm

    opts = options or SeparationOptions()
    if not isinstance(models, dict):  # one model
        models = {models.target: models}
    t0 = time.time()
    names = opts.output_names(models)
    if outputs is None:
        job = plan([Path(input_path)], out_dir, names, fmt, template)[0]
        if job.error:
            raise SaesepError(job.error)
        outputs = job.outputs
    inf = audio_io.info(input_path)
    if inf.frames == 0:
        raise SaesepError(f"'{shown(input_path)}' is empty (0 samples)")
    if inf.header_frames:
        raise SaesepError(f"'{shown(input_path)}': its header promises {inf.header_frames} frames, the file holds "
                          f"{inf.frames} (a truncated file)")
    keep_values = fmt == "wav" and bits == "float"
    clipped = dict.fromkeys(outputs, 0)
    step = max(1, int(block_seconds * inf.sample_rate))
    n_read = 0

    def blocks():
        nonlocal n_read
        for b in audio_io.iter_blocks(input_path, step):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"'{shown(input_path)}': stopped")
            n_read += b.shape[1]
            yield b

    try:
        with contextlib.ExitStack() as stack:
            writers = {}
            for n, p in outputs.items():
                with stops.held():  # the file and its removal on exit come into being together
                    tmp = stack.enter_context(atomic_output(p, protect=(input_path,)))
                writers[n] = stack.enter_context(audio_io.open_writer(tmp, inf.sample_rate, inf.channels, bits, fmt))
            bar = stack.enter_context(tqdm(total=inf.frames, disable=not progress, unit="sample", unit_scale=True,
                                           desc=Path(input_path).name[:30], leave=False))

            def write(out: dict[str, np.ndarray]) -> None:
                for n, chunk in out.items():
                    if not keep_values:
                        over = np.abs(chunk) > 1
                        if over.any():
                            clipped[n] += int(over.sum())
                            chunk = np.clip(chunk, -1, 1)
                    writers[n].write(np.ascontiguousarray(chunk.T))

            # reading/decoding and encoding run in two threads beside the separation
            writer = audio_io.BackgroundWriter(write)
            try:
                for out in _separate_stream(audio_io.prefetch(blocks()), inf.sample_rate, inf.channels, inf.frames,
                                            models, opts, on_progress=bar.update):
                    writer.submit(out)
                writer.wait()
            finally:
                writer.close()
            if n_read < inf.frames:  # before the rename: a short file is not an output
                raise SaesepError(f"decoded {n_read} of the {inf.frames} frames the header promises "
                                  "(a truncated or damaged file)")
    except Cancelled:
        raise
    except SaesepError as e:
        msg = str(e)
        raise SaesepError(msg if shown(input_path) in msg else f"'{shown(input_path)}': {msg}") from e
    except OSError as e:  # permissions, a full disk, a name the file system refuses
        where = f" '{shown(e.filename)}'" if getattr(e, "filename", None) else ""
        raise SaesepError(f"'{shown(input_path)}': cannot write{where}: {e.strerror or e}") from None
    except sf.SoundFileError as e:  # libsndfile's own write errors (a full disk among them)
        hint = " (a full disk or a file-size limit?)" if "System error" in str(e) else ""
        raise SaesepError(f"'{shown(input_path)}': cannot write the outputs: {e}{hint}") from None
    total = inf.frames * inf.channels
    warnings = [f"'{shown(outputs[n])}': {c} samples ({100 * c / total:.2g} %) beyond full scale clipped "
                f"(--bits float keeps them)" for n, c in clipped.items() if c]
    return FileResult(str(input_path), {n: str(p) for n, p in outputs.items()}, round(time.time() - t0, 3),
                      round(inf.seconds, 3), warnings)
