"""Audio I/O: reading any common format, resampling, and atomic writing.

Arrays are ``(channels, samples)`` float32 in [-1, 1] throughout saesep.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import soundfile as sf
import soxr

from .batch import AUDIO_EXTENSIONS, shown  # noqa: F401  (AUDIO_EXTENSIONS: re-exported)
from .errors import SaesepError

OUTPUT_FORMATS = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "mp3": "MP3"}
SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT"}


@dataclass
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int
    header_frames: int | None = None  # what the header promises, where more than the file holds

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def _unreadable(path, why="") -> SaesepError:
    tail = f": {why}" if why else ""
    return SaesepError(f"cannot read audio file '{shown(path)}'{tail}")


def _check_exists(path) -> Path:
    path = Path(path)
    try:
        if path.is_dir():
            raise SaesepError(f"'{shown(path)}' is a folder, not an audio file")
        os.stat(path)
    except (OSError, ValueError) as e:
        if isinstance(e, FileNotFoundError) or not getattr(e, "errno", None):
            raise SaesepError(f"no such file: '{shown(path)}'") from None
        raise SaesepError(f"cannot read '{shown(path)}': {e.strerror}") from None
    if not os.access(path, os.R_OK):
        raise SaesepError(f"cannot read '{shown(path)}': permission denied")
    return path


def _fs(path) -> bytes:
    """The path as the OS spells it: file names that are not UTF-8 reach libsndfile intact."""
    return os.fsencode(path)


def info(path) -> AudioInfo:
    """Sample rate, channel count and length of a file, without decoding it."""
    path = _check_exists(path)
    try:
        i = sf.info(_fs(path), verbose=True)
        return AudioInfo(int(i.samplerate), int(i.channels), int(i.frames), _header_frames(i.extra_info, i.frames))
    except Exception:
        audio, sr = _read_fallback(path)
        return AudioInfo(sr, audio.shape[0], audio.shape[1])


def _header_frames(log: str, frames: int) -> int | None:
    """Frames a WAV/AIFF header promises when libsndfile found fewer bytes on disk
    (its log says ``data : <size> (should be <found>)``); None when they agree, or when
    the size field says "unknown" (streamed writers put 0 or 0xFFFFFFFF there)."""
    m = re.search(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", log, re.MULTILINE)
    if not m:
        return None
    size, found = int(m.group(1)), int(m.group(2))
    if size in (0, 0xFFFFFFFF, 0xFFFFFFFF - 1) or size <= found or found <= 0:
        return None
    return int(round(frames * size / found))


def _read_fallback(path: Path):
    """Decode formats libsndfile cannot (m4a, opus…) through librosa/audioread (ffmpeg)."""
    import librosa

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            audio, sr = librosa.load(path, sr=None, mono=False)
    except Exception as e:  # audioread raises many types
        raise _unreadable(path, "not a format soundfile or ffmpeg can decode") from e
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    return audio, int(sr)


def read(path, sample_rate: int | None = None, mono: bool = False) -> tuple[np.ndarray, int]:
    """Read a whole file. Returns ``(audio (channels, samples) float32, sample_rate)``.

    ``sample_rate`` resamples (soxr HQ) when given; ``mono`` averages the channels.
    """
    path = _check_exists(path)
    try:
        data, sr = sf.read(_fs(path), dtype="float32", always_2d=True)
        audio = np.ascontiguousarray(data.T)
    except Exception:
        audio, sr = _read_fallback(path)
    if not np.isfinite(audio).all():
        raise SaesepError(f"'{shown(path)}' contains NaN or infinite samples")
    if mono:
        audio = audio.mean(axis=0, keepdims=True)
    if sample_rate is not None and sample_rate != sr:
        audio = resample(audio, sr, sample_rate)
        sr = sample_rate
    return audio, int(sr)


def iter_blocks(path, block_frames: int) -> Iterator[np.ndarray]:
    """Yield consecutive ``(channels, <=block_frames)`` float32 blocks of a file.

    Memory stays bounded by one block for every format soundfile reads; other
    formats are decoded whole first (ffmpeg fallback).
    """
    path = _check_exists(path)
    try:
        f = sf.SoundFile(_fs(path))
    except Exception:
        audio, _ = _read_fallback(path)
        for start in range(0, audio.shape[1], block_frames):
            yield audio[:, start:start + block_frames]
        return
    with f:
        while True:
            try:
                block = f.read(block_frames, dtype="float32", always_2d=True)
            except Exception as e:
                raise _unreadable(path, f"decoding failed ({e})") from e
            if len(block) == 0:
                return
            yield np.ascontiguousarray(block.T)


def prefetch(items: Iterable, depth: int = 2) -> Iterator:
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead, so that
    decoding overlaps the caller's work (libsndfile and numpy release the GIL).
    An exception in the thread is raised here; stopping early stops the thread."""
    q: queue.Queue = queue.Queue(depth)
    done, stop = object(), threading.Event()

    def run():
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put((True, item))
            q.put((True, done))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            q.put((False, e))

    t = threading.Thread(target=run, daemon=True, name="saesep-read")
    t.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while t.is_alive():  # unblock a pending put
            with contextlib.suppress(queue.Empty):
                q.get_nowait()
            t.join(0.01)


class BackgroundWriter:
    """Runs ``write(item)`` calls in one background thread, in order, one call ahead of the
    caller at most (memory stays bounded); :meth:`wait` raises the thread's first error."""

    def __init__(self, write):
        from concurrent.futures import ThreadPoolExecutor

        self.write = write
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="saesep-write")
        self.pending = None

    def submit(self, item) -> None:
        self.wait()
        self.pending = self.pool.submit(self.write, item)

    def wait(self) -> None:
        if self.pending is not None:
            p, self.pending = self.pending, None
            p.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self.pool.shutdown(wait=True)


def resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample ``(channels, samples)`` audio with soxr (HQ)."""
    if sr_in == sr_out:
        return audio
    return np.ascontiguousarray(soxr.resample(audio.T, sr_in, sr_out, quality="HQ").T.astype(np.float32))


class StreamResampler:
    """Block-wise resampler whose concatenated output equals :func:`resample`'s exactly."""

    def __init__(self, sr_in: int, sr_out: int, channels: int):
        self.identity = sr_in == sr_out
        if not self.identity:
            self._stream = soxr.ResampleStream(sr_in, sr_out, channels, dtype="float32", quality="HQ")

    def __call__(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        """``block`` is ``(channels, n)``; returns ``(channels, m)``."""
        if self.identity:
            return block
        out = self._stream.resample_chunk(np.ascontiguousarray(block.T, dtype=np.float32), last=last)
        return np.ascontiguousarray(out.T)


def format_for(path) -> str:
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in OUTPUT_FORMATS:
        raise SaesepError(f"cannot write '{path}': choose an extension among {', '.join(OUTPUT_FORMATS)}")
    return ext


def subtype_for(fmt: str, bits: str) -> str | None:
    if fmt == "wav":
        return SUBTYPES[bits]
    if fmt == "flac":
        return "PCM_24" if bits in ("24", "float") else "PCM_16"
    return None  # ogg/mp3: codec default


def open_writer(path, sample_rate: int, channels: int, bits: str = "16", fmt: str | None = None) -> sf.SoundFile:
    """Open a soundfile for block-wise writing (use inside :func:`atomic_output`)."""
    fmt = fmt or format_for(path)
    try:
        return sf.SoundFile(_fs(path), "w", samplerate=sample_rate, channels=channels,
                            format=OUTPUT_FORMATS[fmt], subtype=subtype_for(fmt, bits))
    except Exception as e:
        raise SaesepError(f"cannot write {fmt} with {channels} channels at {sample_rate} Hz: {e}") from e
