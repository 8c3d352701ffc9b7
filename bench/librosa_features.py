"""The reference: what `ser features` computes, done with librosa 0.11.

Same parameters as ser's defaults: mono mix-down, soxr HQ resampling to
22050 Hz, a noisy copy with Gaussian noise of amplitude 0.035*U(0,1)*max|x|
(the Kaggle notebooks' rule), then for both copies the mel power
spectrogram (n_fft 2048, hop 512, 128 Slaney bands), power_to_db (top_db 80)
and 40 MFCCs (DCT-II ortho). One process, like the notebooks.

Usage: python3 librosa_features.py DATA_DIR  -> prints clips, seconds
"""
import pathlib
import sys
import time

import librosa
import numpy as np
import soundfile as sf


def features(y, sr):
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512, n_mels=128)
    mel_db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0)
    return librosa.feature.mfcc(S=mel_db, n_mfcc=40, dct_type=2, norm="ortho")


def main(root):
    files = sorted(pathlib.Path(root).rglob("*.wav"))
    rng = np.random.default_rng(42)
    # Warm-up, untimed: numba compiles (or loads its cache) and FFT plans are
    # made on the first call. Timing it would flatter us.
    y, sr = sf.read(files[0], dtype="float32", always_2d=True)
    features(librosa.resample(y.mean(axis=1), orig_sr=sr, target_sr=22050, res_type="soxr_hq"), 22050)
    t0 = time.perf_counter()
    frames = 0
    for f in files:
        y, sr = sf.read(f, dtype="float32", always_2d=True)
        y = y.mean(axis=1).astype(np.float32)
        y = librosa.resample(y, orig_sr=sr, target_sr=22050, res_type="soxr_hq")
        noise_amp = 0.035 * rng.uniform() * np.amax(np.abs(y))
        noisy = (y + noise_amp * rng.normal(size=y.shape[0])).astype(np.float32)
        for z in (y, noisy):
            frames += features(z, 22050).shape[1]
    dt = time.perf_counter() - t0
    print(f"{len(files)} {dt:.3f} {frames}")


if __name__ == "__main__":
    main(sys.argv[1])
