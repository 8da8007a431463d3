#!/usr/bin/env python3
"""Writes the parity fixtures in tests/fixtures/ from the real openunmix-pytorch.

Needs torch (Debian: python3-torch python3-torchaudio) and `pip install --no-deps openunmix` (1.3.0).
Run from the repository root:  python3 scripts/make_fixtures.py
The tests only read the committed outputs; they never need Python.

Weights come from a counter-based generator that the C++ side reproduces bit for bit
(UmxWeights::init_synthetic), so even the full-size model's weights need not be committed.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import torch
from openunmix.model import OpenUnmix
from openunmix.transforms import TorchSTFT, TorchISTFT

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


# ---------------------------------------------------------------- safetensors (no extra package needed)
def write_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        arr = np.ascontiguousarray(value)
        dtype = {np.dtype("float32"): "F32", np.dtype("int64"): "I64", np.dtype("float64"): "F64"}[arr.dtype]
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


# ---------------------------------------------------------------- the C++ generator, in numpy
def fnv1a64(name):
    h = 0xCBF29CE484222325
    for ch in name.encode():
        h ^= ch
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def hash_uniform(name, seed, count):
    with np.errstate(over="ignore"):
        x = np.uint64(fnv1a64(name) ^ seed) + np.arange(count, dtype=np.uint64)
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def synthetic_range(name, shape, lstm_hidden):
    if name.startswith("lstm."):
        b = 1.0 / np.sqrt(lstm_hidden)
        return -b, b
    if name.startswith("fc"):
        b = 1.0 / np.sqrt(shape[1])
        return -b, b
    if name.endswith(".running_var") or name in ("input_scale", "output_scale"):
        return 0.5, 1.5
    if name.endswith(".weight"):
        return 0.8, 1.2
    if name.endswith(".bias") or name.endswith(".running_mean"):
        return -0.2, 0.2
    if name == "input_mean":
        return -1.0, 0.0
    if name == "output_mean":
        return 0.5, 1.5
    raise KeyError(name)


def init_synthetic(model, seed):
    lstm_hidden = model.lstm.hidden_size
    state = model.state_dict()
    for name, tensor in state.items():
        if name.endswith("num_batches_tracked"):
            tensor.zero_()
            continue
        lo, hi = synthetic_range(name, tuple(tensor.shape), lstm_hidden)
        u = hash_uniform(name, seed, tensor.numel())
        tensor.copy_(torch.from_numpy((lo + (hi - lo) * u).astype(np.float32)).reshape(tensor.shape))


def state_arrays(model, prefix=""):
    return {prefix + k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def make_model(nfft, max_bin, channels, hidden, layers=3):
    return OpenUnmix(nb_bins=nfft // 2 + 1, nb_channels=channels, hidden_size=hidden, nb_layers=layers, max_bin=max_bin)


def config_meta(nfft, max_bin, channels, hidden, layers, seed, frames, batch):
    return dict(nfft=nfft, max_bin=max_bin, nb_channels=channels, hidden_size=hidden, nb_layers=layers, seed=seed,
                frames=frames, batch=batch)


# ---------------------------------------------------------------- fixtures
def stft_fixture(rng):
    length = 6001  # odd, not a multiple of the hop
    audio = rng.uniform(-1, 1, size=(1, 2, length)).astype(np.float32)
    x = torch.from_numpy(audio)
    out = {"audio": audio[0]}
    for center in (False, True):
        spec = TorchSTFT(n_fft=4096, n_hop=1024, center=center)(x)[0]  # (channels, bins, frames, 2)
        tag = "center" if center else "nocenter"
        out[f"{tag}.real"] = spec[..., 0].numpy()
        out[f"{tag}.imag"] = spec[..., 1].numpy()
    spec = TorchSTFT(n_fft=4096, n_hop=1024, center=True)(x)
    out["istft_center"] = TorchISTFT(n_fft=4096, n_hop=1024, center=True)(spec, length=length)[0].numpy()
    # length= shorter and longer than the natural length
    out["istft_center_short"] = TorchISTFT(n_fft=4096, n_hop=1024, center=True)(spec, length=4000)[0].numpy()
    out["istft_center_long"] = TorchISTFT(n_fft=4096, n_hop=1024, center=True)(spec, length=7000)[0].numpy()
    write_safetensors(OUT / "stft_torch.safetensors", out, {"n_fft": 4096, "n_hop": 1024, "length": length})


def default_forward_fixture(rng):
    # The full-size model (hidden 512, 2049 bins, max_bin 1487) on a few frames.
    seed, frames, batch = 20261124, 6, 2
    model = make_model(4096, 1487, 2, 512)
    init_synthetic(model, seed)
    mix = np.abs(rng.standard_normal((batch, 2, 2049, frames))).astype(np.float32)
    out = {"mix": mix}
    with torch.no_grad():
        model.eval()
        out["eval_output"] = model(torch.from_numpy(mix)).numpy()
        model.train()
        model.lstm.dropout = 0.0
        out["train_output"] = model(torch.from_numpy(mix)).numpy()
    out["after_train.bn3.running_mean"] = model.bn3.running_mean.numpy()
    out["after_train.bn3.running_var"] = model.bn3.running_var.numpy()
    write_safetensors(OUT / "umx_default_forward.safetensors", out, config_meta(4096, 1487, 2, 512, 3, seed, frames,
                                                                                batch))


def small_train_fixture(rng, name, nfft, max_bin, channels, hidden, frames, batch, seed, lr, weight_decay, steps):
    model = make_model(nfft, max_bin, channels, hidden)
    init_synthetic(model, seed)
    model.lstm.dropout = 0.0  # dropout masks cannot be matched; the C++ side runs with p = 0 here
    bins = nfft // 2 + 1
    mix = np.abs(rng.standard_normal((batch, channels, bins, frames))).astype(np.float32)
    target = (mix * rng.uniform(0, 1, size=mix.shape)).astype(np.float32)
    out = {"mix": mix, "target": target}
    out.update(state_arrays(model, "initial."))
    with torch.no_grad():
        model.eval()
        out["eval_output"] = model(torch.from_numpy(mix)).numpy()
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    for step in range(steps):
        optimizer.zero_grad()
        y = model(torch.from_numpy(mix))
        loss = torch.nn.functional.mse_loss(y, torch.from_numpy(target))
        loss.backward()
        if step == 0:
            out["train_output"] = y.detach().numpy()
            for pname, p in model.named_parameters():
                out["grad." + pname] = p.grad.numpy().copy()
        losses.append(loss.item())
        optimizer.step()
    out["losses"] = np.array(losses, dtype=np.float64)
    out.update(state_arrays(model, "after."))
    meta = config_meta(nfft, max_bin, channels, hidden, 3, seed, frames, batch)
    meta.update(lr=lr, weight_decay=weight_decay, steps=steps)
    write_safetensors(OUT / f"{name}.safetensors", out, meta)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # deterministic reductions
    rng = np.random.default_rng(1234)
    OUT.mkdir(parents=True, exist_ok=True)
    stft_fixture(rng)
    default_forward_fixture(rng)
    small_train_fixture(rng, "umx_small_train", nfft=256, max_bin=100, channels=2, hidden=16, frames=7, batch=3,
                        seed=7, lr=1e-2, weight_decay=1e-2, steps=3)
    small_train_fixture(rng, "umx_mono_train", nfft=128, max_bin=65, channels=1, hidden=12, frames=5, batch=2,
                        seed=11, lr=1e-3, weight_decay=1e-5, steps=3)
    print("torch", torch.__version__, file=sys.stderr)


if __name__ == "__main__":
    main()
