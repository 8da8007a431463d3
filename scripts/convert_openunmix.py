#!/usr/bin/env python3
"""Convert Open-Unmix models between openunmix-pytorch's layout and ours.

openunmix:  <dir>/<target>.pth (a torch state dict) + <dir>/<target>.json ({"args": {nfft, nhop, ...}, ...})
ours:       <out>/<target>.safetensors (the same state dict; float32, bnX.num_batches_tracked int64 scalars)
            + <out>/<target>.json + <out>/separator.json   (see include/unmix/model_dir.h)

Usage:
  convert_openunmix.py --pth vocals.pth --json vocals.json --out DIR [--target vocals]   # .pth -> safetensors
  convert_openunmix.py --to-pth --model-dir DIR --target vocals --out DIR2              # safetensors -> .pth
  convert_openunmix.py --make-fixture tests/fixtures/umx_tiny                           # test fixture

The committed fixture tests/fixtures/umx_tiny/ was made with
  /usr/bin/python3 scripts/convert_openunmix.py --make-fixture tests/fixtures/umx_tiny
(a seeded random openunmix.model.OpenUnmix with nfft 128, hidden_size 16; it prints the reference values
 that tests/cpu/test_model_io.cpp checks).

safetensors is written and read here with struct + json only, so the `safetensors` package is not needed;
torch (and openunmix for --make-fixture) are.
"""
import argparse
import json
import shutil
import struct
import sys
import tempfile
from pathlib import Path

import torch

DTYPES = {  # torch dtype <-> safetensors dtype name
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
DTYPES_BACK = {v: k for k, v in DTYPES.items()}
HPARAMS = ("nfft", "nhop", "hidden_size", "nb_channels", "sample_rate", "bandwidth", "nb_layers")


assert sys.byteorder == "little", "tensor bytes are copied as-is; safetensors is little-endian"


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch.Tensor, written in insertion order."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.dtype not in DTYPES:
            raise SystemExit(f"{path}: tensor '{name}' has unsupported dtype {t.dtype}")
        data = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()  # numpy lacks bf16
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # align the data buffer to 8 bytes, as the reference writer does
    path = Path(path)
    tmp = path.with_name("." + path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    tmp.replace(path)


def read_safetensors(path):
    """Returns (dict name -> torch.Tensor in buffer order, metadata dict)."""
    raw = Path(path).read_bytes()
    if len(raw) < 8:
        raise SystemExit(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise SystemExit(f"{path}: header length {n} exceeds the file size")
    header = json.loads(raw[8:8 + n])
    buf = memoryview(raw)[8 + n:]
    metadata = header.pop("__metadata__", {})
    out = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        dtype = DTYPES_BACK.get(info["dtype"])
        if dtype is None:
            raise SystemExit(f"{path}: tensor '{name}' has unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        shape = info["shape"]
        t = torch.frombuffer(bytearray(buf[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(shape).clone()
    return out, metadata


def pth_to_safetensors(pth, json_path, out_dir, target):
    state = torch.load(pth, map_location="cpu")
    if "state_dict" in state and isinstance(state["state_dict"], dict):  # a .chkpnt checkpoint
        state = state["state_dict"]
    summary = json.loads(Path(json_path).read_text())
    args = summary.setdefault("args", {})
    for key in ("nfft", "nhop", "hidden_size", "nb_channels"):
        if key not in args:
            raise SystemExit(f"{json_path}: missing field 'args.{key}'")
    sep = Path(json_path).with_name("separator.json")
    if "sample_rate" not in args:  # openunmix keeps it in separator.json; 44.1 kHz is its default
        args["sample_rate"] = json.loads(sep.read_text())["sample_rate"] if sep.exists() else 44100
    tensors = {}
    for name, t in state.items():
        if name.endswith("num_batches_tracked"):
            tensors[name] = t.to(torch.int64).reshape(())
        else:
            tensors[name] = t.to(torch.float32)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_safetensors(out_dir / f"{target}.safetensors", tensors, {"format": "pt", "target": target})
    (out_dir / f"{target}.json").write_text(json.dumps(summary, indent=4, sort_keys=True) + "\n")
    write_separator(out_dir, args)


def write_separator(out_dir, args):
    conf = {k: args[k] for k in ("nfft", "nhop", "nb_channels", "sample_rate")}
    (Path(out_dir) / "separator.json").write_text(json.dumps(conf, indent=4, sort_keys=True) + "\n")


def safetensors_to_pth(model_dir, target, out_dir):
    tensors, _ = read_safetensors(Path(model_dir) / f"{target}.safetensors")
    summary = json.loads((Path(model_dir) / f"{target}.json").read_text())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(tensors, out_dir / f"{target}.pth")
    (out_dir / f"{target}.json").write_text(json.dumps(summary, indent=4, sort_keys=True) + "\n")
    write_separator(out_dir, summary["args"])


def make_fixture(out_dir, target="vocals"):
    """Seeded tiny openunmix model -> .pth + .json -> conversion; verifies both directions with openunmix."""
    from openunmix import model as umx_model
    from openunmix import utils as umx_utils

    torch.manual_seed(1234)
    args = {"nfft": 128, "nhop": 32, "hidden_size": 16, "nb_channels": 2, "sample_rate": 44100,
            "bandwidth": 16000, "target": target, "unidirectional": False}
    max_bin = int(umx_utils.bandwidth_to_max_bin(args["sample_rate"], args["nfft"], args["bandwidth"]))
    net = umx_model.OpenUnmix(nb_bins=args["nfft"] // 2 + 1, nb_channels=args["nb_channels"],
                              hidden_size=args["hidden_size"], max_bin=max_bin)
    state = net.state_dict()
    # Make every tensor distinctive (also the buffers openunmix initializes to 0 / 1).
    for i, (name, t) in enumerate(state.items()):
        if name.endswith("num_batches_tracked"):
            t.fill_(1000 + 7 * i)
        elif name.endswith("running_var") or name.endswith("scale"):
            t.copy_(torch.rand_like(t) + 0.5)
        else:
            t.copy_(torch.randn_like(t) * 0.5)
    work = Path(tempfile.mkdtemp())
    try:
        torch.save(state, work / f"{target}.pth")
        (work / f"{target}.json").write_text(json.dumps({"args": args, "best_loss": 0.125, "epochs_trained": 3}))
        pth_to_safetensors(work / f"{target}.pth", work / f"{target}.json", out_dir, target)

        # safetensors -> pth -> openunmix's own loader must reproduce the original state exactly.
        back = work / "back"
        safetensors_to_pth(out_dir, target, back)
        loaded = umx_utils.load_target_models([target], model_str_or_path=str(back))[target].state_dict()
        assert loaded.keys() == state.keys()
        for name in state:
            assert torch.equal(loaded[name], state[name]), name
    finally:
        shutil.rmtree(work)

    print(f"// reference values for tests/cpu/test_model_io.cpp (max_bin {max_bin})")
    for name, idx in (("input_mean", 0), ("fc1.weight", 5), ("lstm.weight_hh_l2_reverse", -1),
                      ("bn3.running_var", 7), ("output_mean", -1), ("fc3.weight", 100)):
        flat = state[name].reshape(-1)
        i = idx % flat.numel()
        print(f'{{"{name}", {i}, {flat[i].item():.9g}f}},')
    for name in ("bn1", "bn2", "bn3"):
        print(f"// {name}.num_batches_tracked = {int(state[name + '.num_batches_tracked'])}")
    for name in ("fc1.weight", "lstm.weight_ih_l1"):
        print(f"// sum({name}) = {state[name].double().sum().item():.17g}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pth", help="openunmix state dict (<target>.pth or .chkpnt)")
    p.add_argument("--json", help="openunmix <target>.json (default: next to --pth)")
    p.add_argument("--out", help="output directory")
    p.add_argument("--target", help="target name (default: the .pth file's stem)")
    p.add_argument("--to-pth", action="store_true", help="convert --model-dir/<target>.safetensors back to .pth")
    p.add_argument("--model-dir", help="directory holding <target>.safetensors + <target>.json (with --to-pth)")
    p.add_argument("--make-fixture", metavar="DIR", help="write the tiny test fixture to DIR")
    a = p.parse_args()

    if a.make_fixture:
        make_fixture(a.make_fixture)
    elif a.to_pth:
        if not (a.model_dir and a.target and a.out):
            p.error("--to-pth needs --model-dir, --target and --out")
        safetensors_to_pth(a.model_dir, a.target, a.out)
    else:
        if not (a.pth and a.out):
            p.error("needs --pth and --out")
        pth = Path(a.pth)
        target = a.target or pth.stem.split("-")[0]  # hub files are named <target>-<sha256 prefix>.pth
        json_path = Path(a.json) if a.json else pth.with_name(f"{target}.json")
        pth_to_safetensors(pth, json_path, a.out, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
