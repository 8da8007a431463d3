#!/usr/bin/env python3
"""Times openunmix-pytorch's Separator on the CPU, for comparison with build/bench/unmix_bench_separate.

Same work as BM_Separate/30: 30 s of stereo noise at 44.1 kHz, one default-size target model (hidden 512,
nfft 4096, hop 1024) with random weights, residual on, niter 1, wiener_win_len 300.
Needs torch and `pip install --no-deps openunmix==1.3.0`. Run: /usr/bin/python3 bench/compare_openunmix_cpu.py
"""
import argparse
import os
import time

import numpy as np
import torch
from openunmix.model import OpenUnmix, Separator


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the stereo input")
    parser.add_argument("--niter", type=int, default=1, help="EM iterations")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (the best is reported)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rate = 44100
    target = OpenUnmix(nb_bins=2049, nb_channels=2, hidden_size=512, max_bin=1487)
    separator = Separator({"guitar": target}, niter=args.niter, residual=True, sample_rate=rate, n_fft=4096,
                          n_hop=1024, nb_channels=2, wiener_win_len=300)
    separator.freeze()
    audio = torch.from_numpy(np.random.default_rng(0).uniform(-0.5, 0.5, (1, 2, int(args.seconds * rate))).astype(
        np.float32))
    times = []
    with torch.no_grad():
        separator(audio[..., : rate * 2])  # warm-up
        for _ in range(args.repeats):
            start = time.perf_counter()
            separator(audio)
            times.append(time.perf_counter() - start)
    best = min(times)
    print(f"openunmix {torch.__version__} Separator, {args.seconds:.0f} s stereo, niter {args.niter}, residual, "
          f"{torch.get_num_threads()} threads: best {best:.3f} s of {len(times)} "
          f"(all: {', '.join(f'{t:.3f}' for t in times)}), real-time factor {args.seconds / best:.1f}x")


if __name__ == "__main__":
    main()
