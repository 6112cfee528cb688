"""Track folders (MUSDB layout) and the sampler of training blocks.

Layout: ``<root>/<split>/<track>/<stem>.{wav,flac,…}`` plus an optional
``mixture`` file. A track without a mixture file is mixed as the sum of its stems.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import audio as audio_io
from .config import SpectralConfig, TrainConfig
from .errors import SaesepError
from .spectral import EPS, context_margin, context_offsets, normalize, stft

MIXTURE = "mixture"


@dataclass
class Track:
    name: str
    path: Path
    stems: dict[str, Path] = field(default_factory=dict)
    mixture: Path | None = None


def find_tracks(root, split: str | None = None) -> list[Track]:
    """All tracks of ``root/split`` (or of ``root`` itself when it holds track folders)."""
    root = Path(root)
    base = root / split if split else root
    if not base.is_dir():
        raise SaesepError(f"no such data folder: '{base}'")
    tracks = []
    for d in sorted(p for p in base.iterdir() if p.is_dir()):
        files = [f for f in sorted(d.iterdir()) if f.suffix.lower() in audio_io.AUDIO_EXTENSIONS and not f.name.startswith(".")]
        stems = {f.stem: f for f in files if f.stem != MIXTURE}
        mix = next((f for f in files if f.stem == MIXTURE), None)
        if stems or mix:
            tracks.append(Track(d.name, d, stems, mix))
    if not tracks:
        raise SaesepError(f"no track folders with audio files in '{base}'")
    return tracks


def require_target(tracks: list[Track], target: str, where) -> list[Track]:
    """Tracks that contain the target stem; a clear error if none does."""
    have = [t for t in tracks if target in t.stems]
    if not have:
        names = sorted({s for t in tracks for s in t.stems})
        raise SaesepError(f"no track in '{where}' has a '{target}' stem (stems found: {', '.join(names) or 'none'})")
    return have


def _frame_energy(spec: np.ndarray) -> np.ndarray:
    """Energy of every frame of ``spec (bins, frames)``, summed over a bins-major copy: the
    rounding does not depend on the layout the STFT returns."""
    return np.ascontiguousarray(np.abs(spec) ** 2).sum(0)


def _with_gaps(parts: list[np.ndarray], gap: int) -> np.ndarray:
    """``parts`` concatenated along their first axis, with ``gap`` zeros before, between and after them."""
    zeros = np.zeros((gap, *parts[0].shape[1:]), parts[0].dtype)
    return np.concatenate([zeros] + [x for p in parts for x in (p, zeros)])


def _abs(z: torch.Tensor) -> torch.Tensor:
    """Magnitude of (..., 2) real/imaginary pairs."""
    return torch.sqrt(z[..., 0] ** 2 + z[..., 1] ** 2)


# Sample streams: every batch is drawn with its own RNG, seeded by (seed, stream, index).
TRAIN, MONITOR, VALID, FIXED, POOL = 0, 1, 2, 3, 4


class BlockSampler:
    """Draws (mixture context block, target centre frame) training pairs.

    ``independent`` (the paper): for the target stem and each other stem, a random
    non-silent block from a random track, each with a random gain α ~ U[gain_min,
    gain_max], summed in the complex STFT domain. ``aligned``: a non-silent block
    of a real mixture and the target at the same time. Blocks that are silence
    only are never drawn.

    Audio is held for ``pool_tracks`` tracks at a time (their STFTs, one channel
    drawn per track); pool ``e`` serves the blocks ``e * pool_refresh`` … of the
    stream, so memory does not grow with the size of the corpus.

    Batch ``index`` of a ``stream`` is a pure function of ``(seed, stream, index,
    n, drawn)``: any process can draw any batch, so the data — and the trained
    model — do not depend on how many loader processes draw them, and resuming
    needs only the batch counter (:class:`saesep.loader.BatchSource`).

    :meth:`sample` returns γ-normalised ``x (n, (2C+1)*bins)`` and ``s (n, bins)``.
    """

    def __init__(self, tracks: list[Track], target: str, spectral: SpectralConfig, train: TrainConfig,
                 seed: int, mode: str | None = None):
        self.tracks = tracks
        self.target = target
        self.cfg = spectral
        self.tcfg = train
        self.mode = mode or train.sampling
        self.seed = seed
        self.others = sorted({s for t in tracks for s in t.stems if s != target})
        self.epoch: int | None = None
        self.rng: np.random.Generator | None = None  # the current batch's, set by sample()
        self._eq_basis = self._eq_curves(spectral) if train.eq_db > 0 else None

    # ---- pool ---------------------------------------------------------------
    def pool(self, epoch: int) -> None:
        """Hold the tracks of pool ``epoch`` (one pool when the corpus fits in one)."""
        if len(self.tracks) <= self.tcfg.pool_tracks:
            epoch = 0
        if epoch == self.epoch:
            return
        rng = np.random.default_rng([self.seed, POOL, epoch])
        k = min(self.tcfg.pool_tracks, len(self.tracks))
        picked = sorted(rng.choice(len(self.tracks), k, replace=False))  # by position: names may repeat across folders
        self._load_pool(picked, rng.random(len(picked)))
        self.epoch = epoch

    def _load_pool(self, picked: list[int], channel_draw: np.ndarray) -> None:
        self.spec, self.active = {}, {}  # free the old pool before loading the next
        # decoding and the STFT release the GIL: the tracks load on as many threads as training uses
        # (it waits for the pool), each track's spectra the same as on one
        with ThreadPoolExecutor(max(1, torch.get_num_threads())) as ex:
            loaded = list(ex.map(self._track_spectra, [self.tracks[i] for i in picked], channel_draw))
        margin = context_margin(self.cfg)
        offsets = context_offsets(self.cfg)
        for stem in dict.fromkeys(s for spectra in loaded for s in spectra):
            # (spectrum, energies) of each track, dropped from `loaded` so that each stem's are freed once concatenated
            per_track = [spectra.pop(stem) for spectra in loaded if stem in spectra]
            # frames-major (frames, bins), tracks concatenated with a gap of `margin` silent frames so
            # blocks never straddle two tracks
            gap = 2 * margin + 1
            spec = _with_gaps([s for s, _ in per_track], gap)
            energy = _with_gaps([e for _, e in per_track], gap)
            valid = _with_gaps([np.ones(len(e), bool) for _, e in per_track], gap)
            # a block is silent when all its frames are below the threshold (relative to the stem's loudest frame),
            # in the network's band
            thresh = energy.max() * 10 ** (self.tcfg.silence_db / 10) if energy.max() > 0 else np.inf
            loud = energy > thresh
            block_loud = np.zeros(len(spec), bool)
            for o in offsets:
                block_loud |= np.roll(loud, -o)
            # real/imag pairs: gathers and sums run on float tensors (fast); a complex64 is its (real, imag)
            # float32 pair, so the view costs nothing
            self.spec[stem] = torch.from_numpy(spec.view(np.float32).reshape(*spec.shape, 2))
            self.active[stem] = np.flatnonzero(valid & block_loud)
        if self.target not in self.active or len(self.active[self.target]) == 0:
            raise SaesepError(f"the '{self.target}' stems drawn for training are silent")

    def _track_spectra(self, t: Track, u: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """One track's stems and mixture as frames-major spectra ``(frames, net_bins)`` of one
        channel, or of their mean (augmentation: drawn per track by ``u`` in [0, 1)), each with
        its frames' energies."""
        waves = {stem: audio_io.read(path, self.cfg.sample_rate)[0] for stem, path in t.stems.items()}
        if t.mixture is not None:
            waves[MIXTURE] = audio_io.read(t.mixture, self.cfg.sample_rate)[0]
        n = min(w.shape[1] for w in waves.values())  # stems of unequal length: their common start
        if t.mixture is None and waves:
            waves[MIXTURE] = sum(w[:, :n] for w in waves.values())
        spectra = {}
        for stem, a in waves.items():
            ch = a.shape[0]
            pick = int(u * (ch + 1)) if ch > 1 else 0
            mono = a[pick, :n] if pick < ch else a[:, :n].mean(0)
            # librosa's STFT is Fortran-ordered: its transpose is frames-major already (a copy
            # only where the network sees fewer bins than the STFT has)
            spec = stft(mono, self.cfg)[:self.cfg.net_bins]
            spectra[stem] = np.ascontiguousarray(spec.T), _frame_energy(spec)
        return spectra

    # ---- drawing ----------------------------------------------------------------
    def _blocks(self, stem: str, centres: np.ndarray) -> torch.Tensor:
        idx = torch.as_tensor(centres[:, None] + context_offsets(self.cfg)[None, :])
        return self.spec[stem][idx]  # (n, 2C+1, bins, 2): real and imaginary parts

    def _gains(self, n: int) -> torch.Tensor:
        g = self.rng.uniform(self.tcfg.gain_min, self.tcfg.gain_max, n).astype(np.float32)
        return torch.from_numpy(g)[:, None, None, None]

    @staticmethod
    def _eq_curves(cfg: SpectralConfig) -> torch.Tensor:
        """(6, bins): piecewise-linear interpolation on a log-frequency axis between 6 anchors (50 Hz … 16 kHz)."""
        f = np.maximum(np.fft.rfftfreq(cfg.n_fft, 1 / cfg.sample_rate)[:cfg.net_bins], 1.0)
        anchors = np.log(np.geomspace(50, 16000, 6))
        return torch.from_numpy(np.stack([np.interp(np.log(f), anchors, e) for e in np.eye(len(anchors))]).astype(np.float32))

    def _equalise(self, blocks: torch.Tensor) -> torch.Tensor:
        """``blocks`` (n, 2C+1, bins, 2) times a random smooth curve each (±eq_db dB); as is when eq_db is 0."""
        if self._eq_basis is None:
            return blocks
        db = self.rng.uniform(-self.tcfg.eq_db, self.tcfg.eq_db, (blocks.shape[0], self._eq_basis.shape[0])).astype(np.float32)
        return blocks * (10 ** (torch.from_numpy(db) @ self._eq_basis / 20))[:, None, :, None]

    def _independent(self, n: int):
        c = self.cfg.context
        tgt = self._equalise(self._blocks(self.target, self.rng.choice(self.active[self.target], n)))
        alpha = self._gains(n)
        mix = tgt * alpha
        for stem in self.others:
            if stem in self.active and len(self.active[stem]):
                mix = mix + self._equalise(self._blocks(stem, self.rng.choice(self.active[stem], n)) * self._gains(n))
        return _abs(mix), _abs(tgt[:, c]) * alpha[:, 0, :, 0]

    def _aligned(self, n: int):
        c = self.cfg.context
        centres = self.rng.choice(self.active[MIXTURE], n)
        if self._eq_basis is not None:  # the target and the rest of the mixture, each equalised
            tgt = self._blocks(self.target, centres)
            rest = self._blocks(MIXTURE, centres) - tgt
            tgt = self._equalise(tgt)
            return _abs(tgt + self._equalise(rest)), _abs(tgt[:, c])
        mix = self._blocks(MIXTURE, centres)
        tgt = self._blocks(self.target, centres)[:, c]
        return _abs(mix), _abs(tgt)

    def sample(self, n: int, index: int = 0, stream: int = TRAIN, drawn: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``index`` of ``stream``: ``n`` blocks, γ-normalised ``x (n, (2C+1)*bins)``,
        ``s (n, bins)`` float32. ``drawn``: blocks drawn from the stream before this
        batch (it picks the pool)."""
        self.pool(drawn // self.tcfg.pool_refresh)
        self.rng = np.random.default_rng([self.seed, stream, index])
        if self.mode == "independent":
            mix, tgt = self._independent(n)
        elif self.mode == "aligned":
            mix, tgt = self._aligned(n)
        else:
            h = n // 2
            m1, t1 = self._independent(h)
            m2, t2 = self._aligned(n - h)
            mix, tgt = torch.cat([m1, m2]), torch.cat([t1, t2])
        x, g = normalize(mix)
        return x.float().contiguous(), (tgt / (g + EPS)).float().contiguous()
