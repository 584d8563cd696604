"""Reference for test/checkpoint-formats.test.ts.

1. Reads the test's .pt with plain torch.load (default weights_only=True)
   and returns its tensors as `ours.<name>`.
2. Builds a torch.nn model from the spec, trains BN statistics a little,
   saves `torch.save(model.state_dict(), path)` (an OrderedDict with
   _metadata) and returns the eval output on `x`.
3. Writes files that are not plain state dicts, for error tests.
"""
import torch

from common import main
from nn_spec import build_layer


def compute(inputs, config):
    out = {}
    ours = torch.load(config["oursPath"])  # default: weights_only=True
    for name, tensor in ours.items():
        out[f"ours.{name}"] = tensor
    torch.manual_seed(5)
    model = torch.nn.Sequential(*[build_layer(spec) for spec in config["spec"]])
    model.train()
    for _ in range(2):
        model(torch.randn(*inputs["x"].shape))
    model.eval()
    state = model.state_dict()
    assert hasattr(state, "_metadata")
    torch.save(state, config["pythonPath"])
    torch.save({"model": state, "epoch": 3}, config["nestedPath"])
    torch.save([torch.zeros(2)], config["listPath"])
    torch.save(torch.ones(3), config["tensorPath"])
    with torch.no_grad():
        out["eval_out"] = model(inputs["x"])
    return out


if __name__ == "__main__":
    main(compute)
