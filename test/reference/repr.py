"""Reference for printing: repr() of each input tensor, as metadata strings.

Also reports what torch.manual_seed(seed) then randn/rand/randint/randperm
draw, so the test can check our generator matches libtorch's in Python.
"""
import json

import torch

from common import main


def compute(inputs, config):
    reprs = {}
    for name, tensor in inputs.items():
        if config.get("requires_grad", {}).get(name):
            tensor = tensor.clone().requires_grad_(True)
        if name in config.get("grad_fn", []):
            tensor = tensor * 2
        reprs[name] = repr(tensor)
    seed = config["seed"]
    torch.manual_seed(seed)
    draws = {
        "randn": torch.randn(3, 4),
        "rand": torch.rand(5),
        "randint": torch.randint(0, 10, (6,)),
        "randperm": torch.randperm(8),
    }
    return draws, {"reprs": json.dumps(reprs)}


if __name__ == "__main__":
    main(compute)
