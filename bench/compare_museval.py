#!/usr/bin/env python3
"""Times museval against tools/evaluate on the same 3-minute stereo track with 2 sources, and checks they agree.

    python3 bench/compare_museval.py [--build build] [--seconds 180] [--repeat 1]

Needs museval 0.4 (numpy, scipy, soundfile; see scripts/make_museval_fixtures.py for the install line).
Only museval/metrics.py is loaded, so ffmpeg is not needed. Both sides evaluate what museval.evaluate does
by default: BSSEval v4, 1 s windows and hops, 512-tap filters, images mode, no permutation.

The signals are decorrelated stereo (every channel has its own content) so that the problem is well
conditioned and both implementations must agree to 0.01 dB (see docs/evaluation.md on ill-conditioned input).
Timings: museval's bss_eval call alone (files already in memory); ours is the whole `evaluate` command,
reading the WAV files included. Run on an otherwise idle machine.
"""
import argparse
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 44100


def load_metrics():
    spec = importlib.util.find_spec("museval")
    if spec is None:
        sys.exit("museval is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "metrics.py"
    module_spec = importlib.util.spec_from_file_location("museval_metrics", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def one_pole(x, a):
    from scipy.signal import lfilter
    return lfilter([a], [1, a - 1], x, axis=0)


def make_track(seconds, seed=7):
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    # "guitar": bright noise with a tone; "residual": dark noise with a bass line; independent per channel.
    guitar = one_pole(rng.standard_normal((n, 2)), 0.3) * 0.2 + 0.05 * np.sin(2 * np.pi * 330 * t)[:, None]
    residual = one_pole(rng.standard_normal((n, 2)), 0.05) * 0.3 + 0.1 * np.sin(2 * np.pi * 55 * t)[:, None]
    est_guitar = guitar + 0.2 * residual + 0.01 * rng.standard_normal((n, 2))
    est_residual = residual + 0.15 * guitar + 0.01 * rng.standard_normal((n, 2))
    f32 = lambda x: x.astype(np.float32)
    return [f32(guitar), f32(residual)], [f32(est_guitar), f32(est_residual)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=str(Path(__file__).resolve().parent.parent / "build"),
                        help="build folder holding tools/evaluate")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per side (the best is reported)")
    args = parser.parse_args()
    evaluate = Path(args.build) / "tools" / "evaluate"
    if not evaluate.exists():
        sys.exit(f"{evaluate} not found: build the unmix-evaluate target first")

    metrics = load_metrics()
    refs, ests = make_track(args.seconds)
    work = Path(tempfile.mkdtemp(prefix="compare-museval-"))
    try:
        names = ["guitar", "residual"]
        for folder, signals in (("refs", refs), ("est", ests)):
            (work / folder / "track").mkdir(parents=True)
            for name, x in zip(names, signals):
                sf.write(work / folder / "track" / f"{name}.wav", x, RATE, subtype="FLOAT")
        reference = np.stack([sf.read(work / "refs" / "track" / f"{n}.wav", always_2d=True)[0] for n in names])
        estimate = np.stack([sf.read(work / "est" / "track" / f"{n}.wav", always_2d=True)[0] for n in names])

        museval_times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            sdr, isr, sir, sar, _ = metrics.bss_eval(reference, estimate, window=RATE, hop=RATE,
                                                     compute_permutation=False, filters_len=512,
                                                     framewise_filters=False, bsseval_sources_version=False)
            museval_times.append(time.perf_counter() - start)

        ours_times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run([str(evaluate), "--references", str(work / "refs"), "--estimates",
                            f"ours={work / 'est'}", "--out", str(work / "out"), "--quiet"],
                           check=True, stdout=subprocess.DEVNULL)
            ours_times.append(time.perf_counter() - start)

        text = (work / "out" / "ours" / "track.json").read_text().replace("NaN", "null")
        ours = json.loads(text)
        worst = 0.0
        for j, target in enumerate(ours["targets"]):
            for t, frame in enumerate(target["frames"]):
                for key, theirs in (("SDR", sdr), ("SIR", sir), ("ISR", isr), ("SAR", sar)):
                    a, b = frame["metrics"][key], theirs[j, t]
                    if a is None or not np.isfinite(b):
                        continue
                    worst = max(worst, abs(a - b))
        threads = os.environ.get("OMP_NUM_THREADS", str(os.cpu_count()))
        print(f"track: {args.seconds:.0f} s stereo, 2 sources, {sdr.shape[1]} frames; {os.cpu_count()} cores, "
              f"OMP_NUM_THREADS={threads}")
        print(f"museval {importlib.metadata.version('museval')} bss_eval: {min(museval_times):8.2f} s")
        print(f"tools/evaluate (whole command): {min(ours_times):8.2f} s")
        print(f"speed-up: {min(museval_times) / min(ours_times):.1f}x")
        print(f"largest per-frame difference: {worst:.5f} dB")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
