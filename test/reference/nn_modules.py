"""Reference for test/nn-modules.test.ts.

For each case: build the torch.nn layer from its spec, load the weights the
test sent (`<id>.param.<name>` / `<id>.buffer.<name>`), run `steps`
train-mode forward passes (returning the last output and all gradients of
(out * gout).sum()), then an eval-mode forward; return running statistics too.
Also builds each layer right after torch.manual_seed(seed) so the test can
compare default initialisation values.
"""
import torch

from common import main
from nn_spec import build_layer


def compute(inputs, config):
    out = {}
    for case in config["cases"]:
        cid = case["id"]
        layer = build_layer(case["spec"]).double() if case.get("float64") else build_layer(case["spec"])
        with torch.no_grad():
            for name, p in layer.named_parameters():
                p.copy_(inputs[f"{cid}.param.{name}"])
            for name, b in layer.named_buffers():
                b.copy_(inputs[f"{cid}.buffer.{name}"])
        layer.train()
        for step in range(case["steps"]):
            x = inputs[f"{cid}.x{step}"].clone().requires_grad_(True)
            for p in layer.parameters():
                p.grad = None
            if "stepSeed" in case:
                torch.manual_seed(case["stepSeed"] + step)
            y = layer(x)
            (y * inputs[f"{cid}.gout{step}"]).sum().backward()
        out[f"{cid}.train_out"] = y
        out[f"{cid}.grad.input"] = x.grad
        for name, p in layer.named_parameters():
            out[f"{cid}.grad.{name}"] = p.grad
        for name, b in layer.named_buffers():
            out[f"{cid}.after.{name}"] = b
        layer.eval()
        with torch.no_grad():
            out[f"{cid}.eval_out"] = layer(inputs[f"{cid}.x0"])
        # Default initialisation from a known seed.
        torch.manual_seed(case["initSeed"])
        fresh = build_layer(case["spec"])
        for name, p in fresh.named_parameters():
            out[f"{cid}.init.{name}"] = p
    return out


if __name__ == "__main__":
    main(compute)
