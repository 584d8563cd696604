"""Reads our safetensors file with the `safetensors` package, checks the
metadata, and writes every tensor back doubled (bool: negated) plus a
checksum of each, so the test sees Python really read the values."""
import torch
from safetensors import safe_open

from common import main, save

import sys


def compute(inputs, config):
    out = {}
    for name, t in inputs.items():
        if t.dtype == torch.bool:
            out[name] = ~t
        else:
            out[name] = t * 2
        out[name + ".sum"] = t.to(torch.float64).sum().reshape(1)
    with safe_open(sys.argv[1], framework="pt") as f:
        meta = f.metadata()
    return out, {"seen_metadata": meta.get("note", "")}


if __name__ == "__main__":
    main(compute)
