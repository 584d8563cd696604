"""Reference for test/optim.test.ts: torch.optim over fixed gradient sequences.

Each case has params `<id>.p<k>` and gradients `<id>.g<step>.<k>`; parameter
groups and options come from the config. We apply `steps` optimizer steps,
setting .grad from the sequence before each, and return the final parameters
and the optimizer state in its state_dict layout."""
import torch

from common import main

CLASSES = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop}
OPTION_NAMES = {"lr": "lr", "momentum": "momentum", "dampening": "dampening", "weightDecay": "weight_decay",
                "nesterov": "nesterov", "betas": "betas", "eps": "eps", "amsgrad": "amsgrad", "alpha": "alpha",
                "centered": "centered"}


def python_options(options):
    out = {OPTION_NAMES[k]: (tuple(v) if k == "betas" else v) for k, v in options.items()}
    return out


def compute(inputs, config):
    out = {}
    for case in config["cases"]:
        cid = case["id"]
        params = [inputs[f"{cid}.p{k}"].clone().requires_grad_(True) for k in range(case["count"])]
        groups = [{"params": [params[k] for k in g["indices"]], **python_options(g["options"])} for g in case["groups"]]
        # foreach=False: the single-tensor code path, which libtorch's C++ optimizers mirror.
        opt = CLASSES[case["kind"]](groups, foreach=False, **python_options(case["defaults"]))
        for step in range(case["steps"]):
            for k, p in enumerate(params):
                p.grad = inputs[f"{cid}.g{step}.{k}"].clone()
            opt.step()
        for k, p in enumerate(params):
            out[f"{cid}.final{k}"] = p.detach()
        for index, state in opt.state_dict()["state"].items():
            for name, value in state.items():
                if torch.is_tensor(value):
                    out[f"{cid}.state.{index}.{name}"] = value.to(torch.float32) if name == "step" else value
    return out


if __name__ == "__main__":
    main(compute)
