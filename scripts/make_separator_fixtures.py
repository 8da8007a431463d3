#!/usr/bin/env python3
"""Writes the separation parity fixtures in tests/fixtures/ with the real openunmix-pytorch.

  separator_input.wav             0.75 s of a small synthetic stereo mix, 16-bit PCM at 8 kHz
  separator_parity.safetensors    openunmix.model.Separator outputs on it (float32 as users run it; one run
                                  in float64, see parity_fixture)
  separator_wiener.safetensors    openunmix.filtering.wiener on small random spectrograms (float64)

The models are small Open-Unmix networks (nfft 512, hop 128, hidden 16, 8 kHz) with weights from the
counter-based generator of scripts/make_fixtures.py, which UmxWeights::init_synthetic reproduces bit for
bit, so no weights are committed: the metadata carries the seeds and hyper-parameters.

Needs torch and `pip install --no-deps openunmix==1.3.0`. Run from anywhere:
  /usr/bin/python3 scripts/make_separator_fixtures.py
"""
import sys
import wave
from pathlib import Path

import numpy as np
import torch
from openunmix import filtering
from openunmix.model import OpenUnmix, Separator
from openunmix.utils import bandwidth_to_max_bin

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (the weight generator and the safetensors writer)

OUT = mf.OUT
RATE, NFFT, NHOP, HIDDEN, LAYERS, BANDWIDTH = 8000, 512, 128, 16, 3, 3000.0
SEEDS = {"guitar": 601, "bass": 602, "guitar_mono": 603}
SECONDS = 0.75


def synthetic_mix(rng, frames):
    """Plucked strings (Karplus-Strong), a bass line and noise hits, panned, with a faint noise floor."""
    t = np.arange(frames) / RATE
    left, right = np.zeros(frames), np.zeros(frames)

    def add(signal, start, pan):
        n = min(len(signal), frames - start)
        left[start:start + n] += np.cos(pan * np.pi / 2) * signal[:n]
        right[start:start + n] += np.sin(pan * np.pi / 2) * signal[:n]

    for k, (hz, at) in enumerate([(196.0, 0.0), (247.0, 0.12), (294.0, 0.25), (392.0, 0.37), (330.0, 0.5)]):
        period = int(RATE / hz)
        line = rng.uniform(-1, 1, period)
        pluck = np.empty(int(0.4 * RATE))
        for i in range(len(pluck)):
            j = i % period
            pluck[i] = 0.3 * line[j]
            line[j] = 0.497 * (line[j] + line[(j + 1) % period])
        add(pluck, int(at * RATE), 0.25 + 0.1 * k)
    add(0.25 * np.sin(2 * np.pi * 82.4 * t) * np.exp(-2 * (t % 0.375)), 0, 0.5)
    for at in (0.05, 0.3, 0.55):
        n = int(0.08 * RATE)
        add(0.2 * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.015 * RATE)), int(at * RATE), 0.7)
    mix = np.stack([left, right]) + 3e-4 * rng.standard_normal((2, frames))
    return np.clip(np.round(mix * 32768), -32768, 32767).astype(np.int16)


def write_wav(path, pcm):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(pcm.shape[0])
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes(np.ascontiguousarray(pcm.T).astype("<i2").tobytes())
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


def make_target(name, channels):
    max_bin = bandwidth_to_max_bin(RATE, NFFT, BANDWIDTH)
    model = OpenUnmix(nb_bins=NFFT // 2 + 1, nb_channels=channels, hidden_size=HIDDEN, nb_layers=LAYERS,
                      max_bin=max_bin)
    mf.init_synthetic(model, SEEDS[name])
    return model.eval()


def separate(targets, audio, channels, dtype=torch.float32, **options):
    separator = Separator({t: make_target(t, channels) for t in targets}, sample_rate=RATE, n_fft=NFFT, n_hop=NHOP,
                          nb_channels=channels, **options).to(dtype)
    separator.freeze()
    audio = audio.to(dtype)
    # The STFT must have no bin that is exactly 0: openunmix's atan2 writes 1 into such bins of the
    # mixture in place, a quirk the C++ filter does not copy (see include/unmix/wiener.h).
    spec = separator.stft(audio)
    assert not ((spec[..., 0] == 0) & (spec[..., 1] == 0)).any(), "exact zero bin in the fixture STFT"
    with torch.no_grad():
        estimates = separator(audio)[0]  # (sources, channels, samples)
    names = list(targets) + (["residual"] if options.get("residual") else [])
    return {name: estimates[k].float().numpy() for k, name in enumerate(names)}


def parity_fixture(rng):
    pcm = synthetic_mix(rng, int(SECONDS * RATE))
    write_wav(OUT / "separator_input.wav", pcm)
    audio = torch.from_numpy(pcm.astype(np.float32) / 32768.0)[None]  # as libsndfile reads 16-bit PCM
    short = audio[..., :4000]
    runs = {
        "niter0": separate(["guitar"], audio, 2, niter=0, residual=True, wiener_win_len=300),
        "niter1": separate(["guitar"], audio, 2, niter=1, residual=True, wiener_win_len=300),
        # two targets, soft masks, more iterations, several Wiener windows (47 frames in windows of 20)
        "multi": separate(["guitar", "bass"], audio, 2, niter=2, residual=False, softmask=True, wiener_win_len=20),
        # a mono model on the stereo mix (openunmix averages the magnitudes and filters both channels). Its
        # EM is ill-conditioned enough that openunmix in float32 lands 3e-4 from openunmix in float64, so this
        # reference is computed in float64 (the C++ filter works in double).
        "mono_model": separate(["guitar_mono"], short, 1, dtype=torch.float64, niter=1, residual=True,
                               wiener_win_len=300),
    }
    tensors = {f"{run}.{name}": out for run, outs in runs.items() for name, out in outs.items()}
    meta = dict(sample_rate=RATE, nfft=NFFT, nhop=NHOP, hidden_size=HIDDEN, nb_layers=LAYERS, bandwidth=BANDWIDTH,
                max_bin=bandwidth_to_max_bin(RATE, NFFT, BANDWIDTH), mono_model_samples=short.shape[-1],
                **{f"seed.{k}": v for k, v in SEEDS.items()})
    mf.write_safetensors(OUT / "separator_parity.safetensors", tensors, meta)


def wiener_fixture(rng):
    frames, bins = 10, 7
    cases = {
        # name: (mix channels, magnitude channels, targets, iterations, softmask, residual, mix amplitude)
        "ratio_niter0": (2, 2, 2, 0, False, True, 1.0),
        "ratio_niter1_loud": (2, 2, 1, 1, False, True, 300.0),  # max|x| > scale_factor: the scaling path
        "softmask_niter2": (2, 2, 3, 2, True, False, 1.0),
        "mono_niter1": (1, 1, 1, 1, False, True, 1.0),
        "broadcast_niter3": (2, 1, 2, 3, False, True, 5.0),
    }
    tensors, meta = {}, {}
    for name, (channels, mag_channels, targets, iterations, softmask, residual, amplitude) in cases.items():
        mix = (amplitude * rng.standard_normal((frames, bins, channels, 2))).astype(np.float32)
        mags = (amplitude * rng.uniform(0, 1, (frames, bins, mag_channels, targets))).astype(np.float32)
        y = filtering.wiener(torch.from_numpy(mags).double(), torch.from_numpy(mix).double(), iterations,
                             softmask=softmask, residual=residual)
        tensors[f"{name}.mix"] = mix
        tensors[f"{name}.magnitudes"] = mags
        tensors[f"{name}.sources"] = y.numpy().astype(np.float32)  # (frames, bins, channels, 2, sources)
        meta[f"{name}.iterations"] = iterations
        meta[f"{name}.softmask"] = int(softmask)
        meta[f"{name}.residual"] = int(residual)
    meta["cases"] = ",".join(cases)
    mf.write_safetensors(OUT / "separator_wiener.safetensors", tensors, meta)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.default_rng(20261125)
    OUT.mkdir(parents=True, exist_ok=True)
    parity_fixture(rng)
    wiener_fixture(rng)
    print("torch", torch.__version__, file=sys.stderr)


if __name__ == "__main__":
    main()
