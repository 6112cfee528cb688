"""Small synthetic audio the tests make themselves: a bass line, chords and noise bursts."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

SR = 22050


def tone(freq: np.ndarray, sr: int, harmonics: int, decay: float = 1.0, rng=None) -> np.ndarray:
    """Harmonic tone following a per-sample frequency contour (Hz)."""
    phase = 2 * np.pi * np.cumsum(freq) / sr
    out = np.zeros_like(freq)
    for h in range(1, harmonics + 1):
        out += np.sin(h * phase) / h ** decay
    return out


def synthetic_track(seed: int, seconds: float = 4.0, sr: int = SR, channels: int = 2) -> dict[str, np.ndarray]:
    """Stems ``bass`` (notes 41–98 Hz), ``other`` (3-note chords 200–900 Hz), ``drums`` (noise bursts)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    note = int(0.25 * sr)
    bass_f = np.repeat(rng.uniform(41, 98, n // note + 1), note)[:n]
    env = np.tile(np.exp(-np.arange(note) / (0.15 * sr)), n // note + 1)[:n]
    bass = 0.5 * tone(bass_f, sr, 6, 1.2) * env
    bass[int(rng.uniform(0.4, 0.6) * n):][: int(0.5 * sr)] = 0  # a rest
    chord_len = int(1.0 * sr)
    other = np.zeros(n)
    for k in range(3):
        f = np.repeat(rng.uniform(200, 900, n // chord_len + 1), chord_len)[:n]
        other += 0.2 * tone(f, sr, 4, 1.5)
    drums = np.zeros(n)
    for start in range(0, n, note):
        length = min(int(0.05 * sr), n - start)
        drums[start:start + length] += 0.3 * rng.standard_normal(length) * np.exp(-np.arange(length) / (0.01 * sr))
    stems = {"bass": bass, "other": other, "drums": drums}
    out = {}
    for name, s in stems.items():
        pan = rng.uniform(0.3, 0.7)
        st = np.stack([s * (1 - pan), s * pan]) if channels == 2 else s[None]
        out[name] = st.astype(np.float32)
    return out


def write_track_folder(root, splits=(("train", 6), ("valid", 2), ("test", 2)), seconds=4.0, sr=SR, with_mixture=True):
    seed = 0
    for split, count in splits:
        for i in range(count):
            d = root / split / f"track{i:02d}"
            d.mkdir(parents=True)
            stems = synthetic_track(seed, seconds, sr)
            seed += 1
            for name, a in stems.items():
                sf.write(d / f"{name}.wav", a.T, sr, subtype="FLOAT")
            if with_mixture:
                sf.write(d / "mixture.wav", sum(stems.values()).T, sr, subtype="FLOAT")
    return root


@pytest.fixture(scope="session")
def track_folder(tmp_path_factory):
    return write_track_folder(tmp_path_factory.mktemp("tracks"))


@pytest.fixture(scope="session")
def tiny_model(track_folder, tmp_path_factory):
    """A bass model trained for a few seconds with the tiny preset (shared by tests)."""
    from saesep.training import train

    out = tmp_path_factory.mktemp("model") / "bass.pt"
    model = train(track_folder, out, target="bass", preset="tiny", progress=False, log=lambda m: None)
    return out, model


def require(module: str, install: str):
    """Skip the calling test module (or test) unless ``module`` imports; the reason says what to install.

    CI installs everything and runs every test; a machine with only Python skips these.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except Exception as e:  # noqa: BLE001 - museval raises RuntimeError without ffmpeg, pyfluidsynth OSError
        pytest.skip(f"{module} unavailable ({type(e).__name__}); install: {install}", allow_module_level=True)


MUSEVAL = "apt-get install ffmpeg && pip install 'saesep[eval]'"
FLUIDSYNTH = ("apt-get install fluidsynth fluid-soundfont-gm timgm6mb-soundfont && "
              "pip install 'saesep[corpus]'")
