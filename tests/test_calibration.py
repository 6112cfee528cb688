"""The least-squares output gain per frequency bin (saesep.calibration)."""

import numpy as np
import pytest
import soundfile as sf

from saesep.calibration import fit_output_gain
from saesep.errors import SaesepError
from saesep.separation import SeparationOptions, separate


def test_the_fitted_gain_is_the_scale_between_estimate_and_reference(tiny_model, track_folder, tmp_path):
    """References that are 0.8 times the model's estimates give the gain 0.8 in every bin
    the estimates reach (1 elsewhere), and those bins hold all but 10⁻⁴ of their energy."""
    from saesep.spectral import stft

    path, model = tiny_model
    energy = 0
    for i, track in enumerate(sorted((track_folder / "train").iterdir())[:2]):
        d = tmp_path / "train" / f"t{i}"
        d.mkdir(parents=True)
        mix, sr = sf.read(track / "mixture.wav", dtype="float32", always_2d=True)
        est = separate(mix.T, sr, model, SeparationOptions(calibrate=False))["bass"]
        sf.write(d / "mixture.wav", mix, sr, subtype="FLOAT")
        sf.write(d / "bass.wav", 0.8 * est.T, sr, subtype="FLOAT")
        energy = energy + (abs(stft(est, model.spectral)[:, :model.spectral.net_bins]) ** 2).sum((0, 2))
    gain = fit_output_gain(path, [tmp_path], tracks_per_corpus=None, jobs=1, progress=False)
    assert gain.shape == (model.spectral.net_bins,)
    reached = gain != 1.0
    assert energy[reached].sum() > (1 - 1e-4) * energy.sum()
    assert np.abs(gain[reached] - 0.8).max() < 1e-3


def test_no_track_with_the_target_is_one_error(tiny_model, tmp_path):
    d = tmp_path / "train" / "t0"
    d.mkdir(parents=True)
    sf.write(d / "mixture.wav", np.zeros((4410, 2), np.float32), 22050)
    with pytest.raises(SaesepError, match="no 'bass' track"):
        fit_output_gain(tiny_model[0], [tmp_path], progress=False)
