"""Reference for test/schedulers.test.ts: torch.optim.lr_scheduler over whole runs.

The config lists cases. Each names an optimizer (SGD with momentum or Adam,
one param group per lr), a schedule (a torch.optim.lr_scheduler class and
its keyword arguments; SequentialLR nests child specs), a number of steps and,
for ReduceLROnPlateau, the metric fed at each step. For every case we record,
after construction and after every step, get_last_lr(), each group's momentum
(SGD) or betas[0] (Adam), and last_epoch; with `step_past_end` we also try one
more step and record the error. Results go back as JSON in the metadata:
json.dumps writes doubles with repr, which JSON.parse reads back exactly.
With `libm`, we also return math.cos and float ** int of the given arguments.
"""
import json
import math
import warnings

import torch
from torch.optim import lr_scheduler

from common import main


def build_optimizer(spec):
    params = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in spec["lrs"]]
    if spec["type"] == "sgd":
        return torch.optim.SGD(params, lr=spec["lrs"][0], momentum=spec["momentum"])
    if spec["type"] == "adam":
        return torch.optim.Adam(params, lr=spec["lrs"][0], betas=tuple(spec["betas"]))
    raise ValueError(f"unknown optimizer {spec['type']}")


def build_schedule(optimizer, spec):
    if spec["type"] == "SequentialLR":
        children = [build_schedule(optimizer, child) for child in spec["schedulers"]]
        return lr_scheduler.SequentialLR(optimizer, children, spec["milestones"])
    return getattr(lr_scheduler, spec["type"])(optimizer, **spec["kwargs"])


def momentums(optimizer):
    return [group["betas"][0] if "betas" in group else group["momentum"] for group in optimizer.param_groups]


def run_case(case):
    optimizer = build_optimizer(case["optimizer"])
    schedule = build_schedule(optimizer, case["schedule"])
    metrics = case.get("metrics")
    record = {"lr": [], "momentum": [], "lastEpoch": [], "stepError": None}

    def snapshot():
        record["lr"].append([float(lr) for lr in schedule.get_last_lr()])
        record["momentum"].append(momentums(optimizer))
        record["lastEpoch"].append(schedule.last_epoch)

    snapshot()
    for i in range(case["steps"]):
        optimizer.step()  # no gradients: changes nothing, but PyTorch expects it before schedule.step()
        if metrics is not None:
            schedule.step(metrics[i])
        else:
            schedule.step()
        snapshot()
    if case.get("step_past_end"):
        try:
            schedule.step()
        except ValueError as error:
            record["stepError"] = str(error)
    return record


def libm_values(spec):
    """What Python's math.cos and float ** int (the C library's) give, for lib/optim/schedules/exact-math.ts."""
    return {
        "cos": [math.cos(x) for x in spec["cos"]],
        "pow": [base**exponent for base, exponent in spec["pow"]],
    }


def compute(inputs, config):
    warnings.simplefilter("ignore")
    results = {case["name"]: run_case(case) for case in config["cases"]}
    metadata = {"results": json.dumps(results), "torch": torch.__version__}
    if "libm" in config:
        metadata["libm"] = json.dumps(libm_values(config["libm"]))
    return {}, metadata


if __name__ == "__main__":
    main(compute)
