"""Reference for test/io.test.ts: torch.save / torch.load both ways, with
files shaped like torchvision's ImageNet weights (resnet18-f37072fd.pth:
an OrderedDict of a torchvision-structured ResNet-18 without BatchNorm's
num_batches_tracked) and the other odd files PyTorch users have.

Writes, next to config["dir"]:
  torchvision-style.pth  state dict, num_batches_tracked removed, no _metadata
  old-metadata.pth       state dict, num_batches_tracked removed, _metadata kept
                         with BatchNorm version 1 (a pre-0.4.1 file)
  v2-missing.pth         state dict, num_batches_tracked removed, _metadata
                         says BatchNorm version 2 (PyTorch refuses it)
  whole-model.pth        torch.save(model): a pickled nn.Module
Reads config["oursPath"] (written by torchts) with torch.load(weights_only=True)
into a fresh model and returns its eval logits on x; returns PyTorch's own
logits for the saved model, and whether PyTorch's strict load_state_dict
accepted each odd file.
"""
import os

import torch

from common import main
from resnet_model import ResNet


def strict_load_ok(path):
    model = ResNet([2, 2, 2, 2])
    try:
        model.load_state_dict(torch.load(path))
        return 1
    except RuntimeError:
        return 0


def compute(inputs, config):
    out = {}
    directory = config["dir"]
    torch.manual_seed(3)
    model = ResNet([2, 2, 2, 2])
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, 64, 64))  # non-trivial BatchNorm statistics
    model.eval()
    state = model.state_dict()
    stripped = type(state)((k, v) for k, v in state.items() if not k.endswith("num_batches_tracked"))
    torch.save(stripped, os.path.join(directory, "torchvision-style.pth"))
    old = type(state)(stripped)
    old._metadata = type(state._metadata)((k, dict(v)) for k, v in state._metadata.items())
    for prefix, local in old._metadata.items():
        if isinstance(model.get_submodule(prefix) if prefix else model, torch.nn.BatchNorm2d):
            local["version"] = 1
    torch.save(old, os.path.join(directory, "old-metadata.pth"))
    v2 = type(state)(stripped)
    v2._metadata = state._metadata
    torch.save(v2, os.path.join(directory, "v2-missing.pth"))
    torch.save(model, os.path.join(directory, "whole-model.pth"))
    for name in ["torchvision-style", "old-metadata", "v2-missing"]:
        out[f"strict_ok.{name}"] = torch.tensor(strict_load_ok(os.path.join(directory, f"{name}.pth")))
    with torch.no_grad():
        out["python_logits"] = model(inputs["x"])
        ours = ResNet([2, 2, 2, 2], num_classes=config["oursClasses"])
        ours.load_state_dict(torch.load(config["oursPath"]))  # weights_only=True by default
        ours.eval()
        out["ours_logits"] = ours(inputs["x"])
    return out


if __name__ == "__main__":
    main(compute)
