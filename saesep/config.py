"""Configuration as plain dataclasses, and the named presets.

Every setting the paper leaves open (hop, ridge term, optimiser, mask exponent)
is a field here, so a model file records exactly how it was made.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .errors import SaesepError

WINDOW_ALIASES = {"rectangular": "boxcar", "rect": "boxcar", "boxcar": "boxcar", "hann": "hann", "hamming": "hamming"}
CHOICES = {"window": ("hann", "hamming", "rectangular"), "stereo": ("channels", "mid"),
           "init": ("ls", "identity", "random"), "optimizer": ("adam", "lbfgs"),
           "sampling": ("independent", "aligned", "both"), "top_loss": ("rectified", "linear"),
           "lr_schedule": ("constant", "cosine")}


def _choice(cfg, name: str) -> None:
    if getattr(cfg, name) not in CHOICES[name]:
        raise SaesepError(f"unknown {name} '{getattr(cfg, name)}' (choose {', '.join(CHOICES[name])})")


@dataclass
class SpectralConfig:
    """STFT and context settings shared by training and separation.

    sample_rate: Hz the network works at (input is resampled to it, output back).
    n_fft: frame length in samples; the network sees ``n_fft // 2 + 1`` bins.
    hop: frame advance in samples.
    window: ``hann``, ``hamming`` or ``rectangular`` (the paper's choice).
    context: C, frames on each side of the centre frame (2C+1 frames in all).
    context_stride: frames between two context frames (2 with 50 % overlap makes
        the context frames non-overlapping, as in the paper).
    stereo: ``channels`` runs the network on each channel; ``mid`` runs it on the
        mid channel and applies the resulting mask to every channel (half the cost).
    max_freq: the network sees and estimates only the bins up to this frequency in Hz
        (0: all, up to Nyquist); the estimate is silence above it. A bass model needs a
        few kHz at most, and the network's cost falls with the square of its bins.
    """

    sample_rate: int = 44100
    n_fft: int = 1024
    hop: int = 512
    window: str = "hann"
    context: int = 3
    context_stride: int = 2
    stereo: str = "channels"
    max_freq: float = 0.0

    def __post_init__(self):
        if self.window not in WINDOW_ALIASES:
            raise SaesepError(f"unknown window '{self.window}' (choose {', '.join(CHOICES['window'])})")
        _choice(self, "stereo")
        if self.hop <= 0 or self.hop > self.n_fft:
            raise SaesepError(f"hop must be in 1..n_fft, got {self.hop}")
        if self.context < 0 or self.context_stride < 1:
            raise SaesepError(f"context must be 0 or more and context_stride 1 or more, "
                              f"got {self.context} and {self.context_stride}")
        if self.max_freq < 0:
            raise SaesepError(f"max_freq must be 0 (all bins) or a frequency in Hz, got {self.max_freq}")
        if self.net_bins < 2:
            raise SaesepError(f"max_freq {self.max_freq:g} Hz leaves the network fewer than 2 bins "
                              f"(bins are {self.sample_rate / self.n_fft:.1f} Hz apart)")

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def net_bins(self) -> int:
        """Bins the network sees: the first ``net_bins`` of the STFT (those up to ``max_freq``)."""
        if self.max_freq <= 0:
            return self.n_bins
        return min(self.n_bins, int(self.max_freq * self.n_fft / self.sample_rate) + 1)

    @property
    def context_frames(self) -> int:
        return 2 * self.context + 1

    @property
    def librosa_window(self) -> str:
        return WINDOW_ALIASES[self.window]


@dataclass
class TrainConfig:
    """Layer-wise training schedule and sampling of training blocks.

    layers: K, the network's final depth; one layer is added per stage.
    width: units of every layer below the output layer (0: as many as the network's bins,
        the paper). When a layer is added, the old output layer keeps its units (the
        estimate so far) and gains ``width - bins`` units of random ReLU features of its
        input; the new output layer's least-squares solve then sees both.
    init: how each new layer starts: ``ls`` (least squares), ``identity``, ``random``.
    optimizer: ``adam`` (mini-batches drawn on the fly) or ``lbfgs`` (full batch on a
        fixed set of ``samples`` blocks, as in the paper).
    lr: Adam's learning rate; ``warmup_iters``: it rises linearly from lr/warmup_iters to
        lr over the first iterations of every stage (Adam's first steps are ~lr·sign(g)
        in every weight, which can undo a least-squares init).
    lr_schedule: ``constant`` (Adam's rate stays ``lr``) or ``cosine`` (it falls along a
        half cosine from ``lr`` to 0 over each stage, and starts again at ``lr`` with the
        next layer; every stage runs to its end, no early stop, and keeps its best weights).
    iters_per_layer: training iterations after each layer is added.
    finetune_iters: iterations on the full network at the end.
    samples: size of the fixed training set (lbfgs only).
    ls_samples: blocks used to accumulate the least-squares statistics (adam).
    ridge: ridge term added to C_xx, relative to its mean diagonal.
    sampling: ``independent`` (the paper: blocks drawn independently per stem, random
        gains, mixed in the complex STFT domain), ``aligned`` (excerpts of the real
        mixtures) or ``both`` (half each).
    gain_min/gain_max: range of the random gain per stem (paper: U[0.01, 1]).
    eq_db: random equalisation per stem and block (0: off): a smooth curve through
        gains drawn from U[-eq_db, eq_db] dB at 6 log-spaced frequencies, so the
        network meets timbres other than the training instruments' own.
    top_loss: what the training loss compares with the target spectra: the network's
        estimate (``rectified``, the paper) or the output layer's values before its ReLU
        (``linear``): an output unit whose estimate is 0 for every block still gets a
        gradient, so no bin's estimate dies for good; the estimate stays the rectified one,
        and its error is never larger than the linear values' error.
    checkpoint_minutes: besides the checkpoint after every stage, one at the first
        validation point after this many minutes (0: at every validation point).
    collapse_factor: with Adam, an evaluation whose J_valid exceeds this multiple of the
        stage's starting J_valid, or is not finite, counts as a collapse (with ReLU
        outputs a few large steps can switch every unit off for good): the stage's best
        weights are restored and the learning rate is divided by 10 for the rest of the
        training, at most ``max_lr_drops`` times; after that the stage ends (or, for a
        non-finite J_valid, training stops with an error, as it does with L-BFGS).
    """

    target: str = "bass"
    layers: int = 3
    width: int = 0
    init: str = "ls"
    optimizer: str = "adam"
    lr: float = 1e-3
    warmup_iters: int = 0
    lr_schedule: str = "constant"
    batch_size: int = 256
    iters_per_layer: int = 1500
    finetune_iters: int = 3000
    samples: int = 100_000
    ls_samples: int = 32_768
    valid_samples: int = 8192
    monitor_samples: int = 8192
    eval_every: int = 100
    patience: int = 10
    lbfgs_history: int = 20
    ridge: float = 1e-4
    sampling: str = "both"
    gain_min: float = 0.01
    gain_max: float = 1.0
    eq_db: float = 0.0
    pool_tracks: int = 32
    pool_refresh: int = 50_000
    silence_db: float = -60.0
    top_loss: str = "rectified"
    checkpoint_minutes: float = 10.0
    collapse_factor: float = 2.0
    max_lr_drops: int = 3
    seed: int = 0

    def __post_init__(self):
        for name in ("init", "optimizer", "sampling", "top_loss", "lr_schedule"):
            _choice(self, name)
        if self.layers < 1:
            raise SaesepError("layers must be at least 1")
        if self.width < 0:
            raise SaesepError("width must be 0 or more")
        if self.warmup_iters < 0:
            raise SaesepError("warmup_iters must be 0 or more")
        if self.eq_db < 0:
            raise SaesepError("eq_db must be 0 or more")
        if self.seed < 0:
            raise SaesepError("seed must be 0 or more")
        if self.collapse_factor <= 1:
            raise SaesepError("collapse_factor must be above 1")
        if self.max_lr_drops < 0:
            raise SaesepError("max_lr_drops must be 0 or more")


@dataclass
class Preset:
    spectral: SpectralConfig = field(default_factory=SpectralConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def _uhlich2015() -> Preset:
    # The paper's recipe: 32 kHz, rectangular 1024 window (50 % overlap as its example),
    # C = 3 non-overlapping context frames, K = 5 layers, LS init, L-BFGS 600 iterations
    # per layer and 3000 to fine-tune, independent blocks with gains U[0.01, 1].
    # P = 1e6 in the paper; 1e5 blocks fit in ~1.5 GB here (``--samples`` to change).
    return Preset(
        SpectralConfig(sample_rate=32000, n_fft=1024, hop=512, window="rectangular", context=3, context_stride=2),
        TrainConfig(layers=5, init="ls", optimizer="lbfgs", iters_per_layer=600, finetune_iters=3000,
                    samples=100_000, sampling="independent", eval_every=20, patience=1_000_000),
    )


def _default() -> Preset:
    # Chosen for quality per CPU second: Hann window at 44.1 kHz (no resampling for
    # most music), 3 layers (most of the gain in the paper), Adam on fresh mini-batches,
    # its rate along a half cosine over each stage (it gained on the valid splits of all
    # four built-ins against a constant rate, docs/models.md). The field's own default
    # stays constant: files from before the schedule existed were trained so.
    return Preset(SpectralConfig(), TrainConfig(lr_schedule="cosine"))


def _tiny() -> Preset:
    # For tests and smoke runs: a few seconds of training on a small corpus.
    return Preset(
        SpectralConfig(sample_rate=22050, n_fft=512, hop=256, context=2, context_stride=2),
        TrainConfig(layers=2, iters_per_layer=150, finetune_iters=150, ls_samples=4096,
                    valid_samples=2048, monitor_samples=2048, eval_every=25, batch_size=128, samples=4096),
    )


PRESETS = {"default": _default, "uhlich2015": _uhlich2015, "tiny": _tiny}


def preset(name: str) -> Preset:
    """Return a fresh copy of the named preset (``default``, ``uhlich2015``, ``tiny``)."""
    if name not in PRESETS:
        raise SaesepError(f"unknown preset '{name}' (choose {', '.join(PRESETS)})")
    return PRESETS[name]()


def parse_setting(text: str) -> tuple[str, int | float | str]:
    """``KEY=VALUE`` as a script gives a training setting (``iters-per-layer=750``): the key
    with underscores, the value a number where it reads as one, else text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SaesepError(f"expected KEY=VALUE, got '{text}'")
    for cast in (int, float):
        try:
            return key.replace("-", "_"), cast(value)
        except ValueError:
            pass
    return key.replace("-", "_"), value


def to_dict(obj) -> dict:
    return dataclasses.asdict(obj)


def from_dict(cls, data: dict):
    """Build a dataclass from a dict, ignoring unknown keys (files from newer versions)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


# The settings `saesep train` offers as options (--layers, --n-fft …), with their help; the
# option's type, choices and default come from the fields and the default preset.
TRAIN_OPTIONS = {
    "layers": "Final number of layers K.",
    "width": "Units of the hidden layers (0: as many as the network's bins); wider layers add random ReLU features.",
    "init": "Initialisation of each added layer.",
    "optimizer": "adam: mini-batches drawn on the fly; lbfgs: full batch on a fixed set (the paper).",
    "iters_per_layer": "Training iterations after each layer is added.",
    "finetune_iters": "Iterations of the final fine-tuning stage.",
    "lr": "Adam learning rate.",
    "warmup_iters": "Adam's learning rate rises linearly over this many iterations of each stage.",
    "lr_schedule": "Adam's learning rate over each stage: constant, or falling along a half cosine to 0.",
    "batch_size": "Adam mini-batch size (blocks).",
    "samples": "Fixed training set size in blocks (lbfgs).",
    "sampling": "How training blocks are drawn: per stem with random gains, from the real mixtures, or half each.",
    "eq_db": "Random equalisation of every stem in training blocks, ±this many dB (0: off).",
    "pool_tracks": "Tracks held in memory at a time to draw blocks from.",
    "pool_refresh": "Blocks drawn from a pool before the next pool of tracks is loaded.",
    "ridge": "Ridge term of the least-squares init, relative to mean(diag C_xx).",
    "top_loss": "The loss on the estimate (rectified) or on the output layer before its ReLU (linear: no bin dies).",
    "sample_rate": "Model sample rate in Hz.",
    "n_fft": "STFT frame length in samples.",
    "hop": "STFT hop in samples.",
    "window": "STFT window.",
    "context": "Context frames C on each side of the centre frame.",
    "context_stride": "Frames between neighbouring context frames (2: every other frame, twice the span at the same cost).",
    "max_freq": "The network sees and estimates only the bins up to this frequency in Hz (0: all); silence above it.",
    "seed": "Random seed (same seed, same data, same model).",
    "checkpoint_minutes": "Also checkpoint inside a stage every this many minutes.",
}

