"""Shared I/O for the PyTorch reference scripts.

Each script reads its inputs from a safetensors file written by a TS test
(with a JSON `config` in the metadata), computes the same thing with torch /
torch.nn -- never with torchts -- and writes its outputs to another
safetensors file that the test compares against.
"""
import json
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file


def load(path):
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata() or {}
        tensors = {name: f.get_tensor(name) for name in f.keys()}
    return tensors, json.loads(metadata.get("config", "{}"))


def save(path, tensors, metadata=None):
    # safetensors refuses shared or strided storage: give it compact copies.
    compact = {name: t.detach().contiguous().clone() for name, t in tensors.items()}
    save_file(compact, path, metadata=metadata)


def main(compute):
    """Runs `compute(inputs, config)` between argv[1] and argv[2].

    `compute` returns a dict of tensors, or (tensors, metadata) where metadata
    maps names to strings (reprs, counts) that the test reads back.
    """
    torch.manual_seed(0)
    inputs, config = load(sys.argv[1])
    result = compute(inputs, config)
    tensors, metadata = result if isinstance(result, tuple) else (result, None)
    if not tensors:
        # safetensors writes no file for zero tensors on some versions; keep one marker.
        tensors = {"__empty__": torch.zeros(0)}
    save(sys.argv[2], tensors, metadata)
