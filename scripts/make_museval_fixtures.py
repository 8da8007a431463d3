#!/usr/bin/env python3
"""Writes tests/fixtures/museval_parity.safetensors: BSSEval per-frame metrics computed by museval.

Needs museval 0.4.x with numpy and scipy:
    python3 -m pip install --break-system-packages museval "scipy<1.14" "pandas<2.3"
Only museval/metrics.py is loaded (importing the museval package pulls in musdb -> stempeg, which
needs ffmpeg); that module is the whole of museval's BSSEval and imports nothing but numpy and scipy.
Run from anywhere:  python3 scripts/make_museval_fixtures.py

The test signals are not stored. They come from an integer-only recipe (a counter-based hash for
noise, a phase accumulator for tones, shifts for filters and gains) that the C++ test repeats bit for
bit; the fixture keeps each case's recipe as small integer tensors, a checksum of every generated signal
(so a generator mismatch fails loudly) and museval's SDR/ISR/SIR/SAR per source and frame.

Layout, for each case <c>:
  <c>/config        I64 [length, channels, window, hop, filters_len, framewise_filters, compute_permutation]
  <c>/ref<j>/params I64 [seed, noise_shift, noise_gain, tone_inc, tone_gain, env_inc, pan_left, pan_right]
  <c>/ref<j>/silent I64 [k, 3] rows (begin, end, channel or -1 for all): samples zeroed
  <c>/ref<j>/antiphase I64 [k, 2] rows (begin, end): right channel = -left there
  <c>/est<j>/params I64 [seed, noise_gain, smooth_shift, cross_gain, delay]
  <c>/est<j>/mix    I64 [nsrc] gains (Q15) of each reference in this estimate
  <c>/est<j>/silent I64 [k, 3] as for references
  <c>/checksums     I64 [2 * nsrc, 3] per signal (references, then estimates): sum v, sum v^2, sum v * (n % 97)
  <c>/sdr, /isr, /sir, /sar  F64 [nsrc, nwin]   (NaN and +-inf exactly as museval returns them)
  <c>/perm          I64 [nsrc, 1] (v4) or [nsrc, nwin] (v3)
"""
import importlib.metadata
import importlib.util
import json
import struct
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "museval_parity.safetensors"
RATE = 44100


def load_museval_metrics():
    spec = importlib.util.find_spec("museval")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("museval is not installed (python3 -m pip install --break-system-packages museval)")
    path = Path(list(spec.submodule_search_locations)[0]) / "metrics.py"
    module_spec = importlib.util.spec_from_file_location("museval_metrics", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- the integer recipe (mirrored in C++)
M64 = 0xFFFFFFFFFFFFFFFF


def noise16(seed, count):
    """splitmix64 of (seed << 32) + n, top 16 bits, as signed values in [-32768, 32767]."""
    with np.errstate(over="ignore"):
        x = np.uint64((seed << 32) & M64) + np.arange(count, dtype=np.uint64)
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(48)).astype(np.int64) - 32768


def one_pole(x, shift):
    """y[n] = y[n-1] + ((x[n] - y[n-1]) >> shift), y[-1] = 0; shift 0 is the identity."""
    if shift == 0:
        return x.copy()
    y = np.empty_like(x)
    acc = 0
    for n, v in enumerate(x.tolist()):
        acc += (v - acc) >> shift
        y[n] = acc
    return y


def triangle(inc, count):
    """Triangle wave from a 32-bit phase accumulator: values in [-32768, 32766]."""
    phase = (np.arange(count, dtype=np.int64) * inc) & 0xFFFFFFFF
    saw = (phase >> 16) - 32768
    return 2 * np.abs(saw) - 32768


def clip16(x):
    return np.clip(x, -32768, 32767)


def apply_silences(sig, silent):
    for begin, end, channel in silent:
        if channel < 0:
            sig[:, begin:end] = 0
        else:
            sig[channel, begin:end] = 0


def make_reference(length, channels, p):
    seed, noise_shift, noise_gain, tone_inc, tone_gain, env_inc, pan_l, pan_r = p["params"]
    mono = (one_pole(noise16(seed, length), noise_shift) * noise_gain) >> 15
    if tone_inc:
        mono = mono + ((triangle(tone_inc, length) * tone_gain) >> 15)
    mono = clip16(mono)
    if env_inc:
        mono = (mono * (49152 + (triangle(env_inc, length) >> 1))) >> 16
    pans = [pan_l, pan_r][:channels] if channels == 2 else [pan_l]
    sig = np.stack([(mono * g) >> 15 for g in pans])
    for begin, end in p.get("antiphase", []):
        sig[1, begin:end] = -sig[0, begin:end]
    apply_silences(sig, p.get("silent", []))
    return sig


def make_estimate(refs, p):
    seed, noise_gain, smooth_shift, cross_gain, delay = p["params"]
    channels, length = refs[0].shape
    mix = np.zeros((channels, length), dtype=np.int64)
    for ref, gain in zip(refs, p["mix"]):
        mix += (ref * gain) >> 15
    if channels == 2 and cross_gain:
        mix = mix + ((mix[::-1] * cross_gain) >> 15)
    if delay:
        mix = np.concatenate([np.zeros((channels, delay), dtype=np.int64), mix[:, :-delay]], axis=1)
    mix = np.stack([one_pole(mix[c], smooth_shift) for c in range(channels)])
    for c in range(channels):
        mix[c] += (noise16(seed + 7919 * c, length) * noise_gain) >> 15
    sig = clip16(mix)
    apply_silences(sig, p.get("silent", []))
    return sig


def checksum(sig):
    n = np.arange(sig.shape[1], dtype=np.int64) % 97
    flat = sig.astype(np.int64)
    return [int(flat.sum()), int((flat * flat).sum()), int((flat * n[None, :]).sum())]


# ---------------------------------------------------------------- the cases
S = RATE  # one second


def ref(seed, noise_shift, noise_gain, tone_inc, tone_gain, env_inc, pan=(23170, 23170), silent=(), antiphase=()):
    return {"params": [seed, noise_shift, noise_gain, tone_inc, tone_gain, env_inc, pan[0], pan[1]],
            "silent": [list(s) for s in silent], "antiphase": [list(a) for a in antiphase]}


def est(seed, mix, noise_gain=800, smooth_shift=0, cross_gain=0, delay=0, silent=()):
    return {"params": [seed, noise_gain, smooth_shift, cross_gain, delay], "mix": list(mix),
            "silent": [list(s) for s in silent]}


CASES = {
    # 2 stereo sources, 4.5 s: four full 1 s frames, the last half second is not evaluated.
    "two_sources": dict(
        length=4 * S + S // 2, channels=2, window=S, hop=S, filters_len=512,
        refs=[ref(11, 2, 26000, 0x00A3D70A, 9000, 0x0000C350, pan=(30000, 12000)),
              ref(12, 4, 30000, 0x0147AE14, 12000, 0x00008000, pan=(15000, 28000))],
        ests=[est(21, [29000, 5000], noise_gain=900, smooth_shift=1, cross_gain=3000),
              est(22, [-2500, 27000], noise_gain=1500, delay=3)]),
    # Silent stretches: frame 1 of reference 0 is all zero (NaN frame), frame 2 partly; frame 3 of reference 1
    # has right = -left (museval sums channels, so that frame counts as silent); estimate 1 is zero over
    # frame 4 (NaN again); reference 1's right channel is silent for half a second.
    "silent_stretches": dict(
        length=5 * S, channels=2, window=S, hop=S, filters_len=512,
        refs=[ref(31, 1, 24000, 0x00C49BA5, 14000, 0, pan=(26000, 20000), silent=[(S, 2 * S + 9000, -1)]),
              ref(32, 3, 30000, 0, 0, 0x0000A000, pan=(20000, 26000),
                  silent=[(S // 4, S // 4 + S // 2, 1)], antiphase=[(3 * S, 4 * S)])],
        ests=[est(41, [26000, 7000], noise_gain=1200, smooth_shift=2),
              est(42, [4000, 30000], noise_gain=600, cross_gain=-4000, silent=[(4 * S, 5 * S, -1)])]),
    # Three sources, one of them hard-panned left (its right channel is zero: a singular block in the
    # correlation matrix that only the regularization keeps solvable); a partial last frame.
    "three_sources": dict(
        length=4 * S + 1234, channels=2, window=S, hop=S, filters_len=512,
        refs=[ref(51, 2, 28000, 0x0083126E, 8000, 0x00006000, pan=(24000, 22000)),
              ref(52, 0, 12000, 0x01D4C000, 20000, 0, pan=(32767, 0)),
              ref(53, 5, 32000, 0, 0, 0x0000F000, pan=(12000, 30000))],
        ests=[est(61, [30000, 3000, 2000], noise_gain=700),
              est(62, [1500, 31000, 2500], noise_gain=2000, smooth_shift=1),
              est(63, [3500, -2000, 28000], noise_gain=400, cross_gain=2500, delay=7)]),
    # BSSEval v3: distortion filters estimated anew in every frame.
    "framewise_v3": dict(
        length=3 * S, channels=2, window=S, hop=S, filters_len=512, framewise=True,
        refs=[ref(71, 2, 26000, 0x009D4952, 9000, 0x0000B000, pan=(28000, 16000)),
              ref(72, 3, 30000, 0x013A92A3, 11000, 0, pan=(18000, 27000), silent=[(S + 100, 2 * S - 100, -1)])],
        ests=[est(81, [28000, 6000], noise_gain=1000, smooth_shift=1),
              est(82, [3000, 29000], noise_gain=1400, cross_gain=2000)]),
    # Estimates in swapped order: the permutation search must put them back.
    "permutation": dict(
        length=3 * S, channels=2, window=S, hop=S, filters_len=512, permutation=True,
        refs=[ref(91, 1, 26000, 0x00B60B61, 10000, 0, pan=(25000, 21000)),
              ref(92, 4, 30000, 0, 0, 0x00007000, pan=(21000, 25000))],
        ests=[est(101, [4000, 29000], noise_gain=900),
              est(102, [28000, 5000], noise_gain=1100, smooth_shift=1)]),
    # Overlapping windows (bss_eval's own defaults, 2 s windows every 1.5 s).
    "overlap": dict(
        length=5 * S, channels=2, window=2 * S, hop=3 * S // 2, filters_len=512,
        refs=[ref(111, 2, 27000, 0x00A7C5AC, 9000, 0x00009000, pan=(27000, 17000)),
              ref(112, 3, 29000, 0x0112A880, 10000, 0, pan=(17000, 27000), silent=[(2 * S, 2 * S + S // 3, -1)])],
        ests=[est(121, [29000, 4000], noise_gain=1000, cross_gain=1500),
              est(122, [3000, 28000], noise_gain=1300, smooth_shift=2)]),
    # Mono, shorter than one window (a single frame over the whole signal), shorter filters.
    "short_mono": dict(
        length=S * 4 // 5, channels=1, window=S, hop=S, filters_len=128,
        refs=[ref(131, 1, 28000, 0x00D1B717, 12000, 0, pan=(32767, 32767)),
              ref(132, 3, 30000, 0, 0, 0x0000C000, pan=(32767, 32767))],
        ests=[est(141, [27000, 6000], noise_gain=1500, delay=2),
              est(142, [5000, 26000], noise_gain=900, smooth_shift=1)]),
}


# ---------------------------------------------------------------- safetensors writer (no extra package)
def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        arr = np.ascontiguousarray(value)
        dtype = {np.dtype("float64"): "F64", np.dtype("int64"): "I64"}[arr.dtype]
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    tmp.replace(path)
    print(f"wrote {path} ({path.stat().st_size / 1024:.1f} KiB)")


def rows(items, width):
    arr = np.array(items, dtype=np.int64).reshape(-1, width)
    return arr


def main():
    metrics = load_museval_metrics()
    tensors = {}
    for name, case in CASES.items():
        length, channels = case["length"], case["channels"]
        refs = [make_reference(length, channels, r) for r in case["refs"]]
        ests = [make_estimate(refs, e) for e in case["ests"]]
        framewise = case.get("framewise", False)
        permutation = case.get("permutation", False)
        tensors[f"{name}/config"] = np.array(
            [length, channels, case["window"], case["hop"], case["filters_len"], int(framewise), int(permutation)],
            dtype=np.int64)
        for j, r in enumerate(case["refs"]):
            tensors[f"{name}/ref{j}/params"] = np.array(r["params"], dtype=np.int64)
            tensors[f"{name}/ref{j}/silent"] = rows(r["silent"], 3)
            tensors[f"{name}/ref{j}/antiphase"] = rows(r["antiphase"], 2)
        for j, e in enumerate(case["ests"]):
            tensors[f"{name}/est{j}/params"] = np.array(e["params"], dtype=np.int64)
            tensors[f"{name}/est{j}/mix"] = np.array(e["mix"], dtype=np.int64)
            tensors[f"{name}/est{j}/silent"] = rows(e["silent"], 3)
        tensors[f"{name}/checksums"] = np.array([checksum(s) for s in refs + ests], dtype=np.int64)

        # museval's layout: (nsrc, nsampl, nchan), float64, int16 codes / 32768 as a WAV reader returns them.
        reference = np.stack([s.T for s in refs]).astype(np.float64) / 32768.0
        estimate = np.stack([s.T for s in ests]).astype(np.float64) / 32768.0
        sdr, isr, sir, sar, perm = metrics.bss_eval(
            reference, estimate, window=case["window"], hop=case["hop"], compute_permutation=permutation,
            filters_len=case["filters_len"], framewise_filters=framewise, bsseval_sources_version=False)
        for key, value in (("sdr", sdr), ("isr", isr), ("sir", sir), ("sar", sar)):
            tensors[f"{name}/{key}"] = np.asarray(value, dtype=np.float64)
        tensors[f"{name}/perm"] = np.asarray(perm, dtype=np.int64)
        print(f"{name}: {len(refs)} sources x {channels} ch, {length} samples, frames {sdr.shape[1]}")
        print("  SDR", np.array2string(sdr, precision=3))
        print("  perm", perm.ravel().tolist())
    write_safetensors(OUT, tensors, {"museval": importlib.metadata.version("museval"),
                                     "numpy": np.__version__,
                                     "scipy": importlib.metadata.version("scipy"),
                                     "cases": ",".join(CASES)})


if __name__ == "__main__":
    main()
