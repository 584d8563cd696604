"""How far PyTorch's own ResNet-18 result moves under changes that are all
correct: the test/resnet.test.ts 'r18_imagenet' SGD case (imagenet stem,
64x64 input, batch 4, BN parameters in [0.5, 1.5), 5 nesterov SGD steps at
lr 0.05 on one batch) run with other thread counts, with oneDNN off, with
layer4's 3x3 convs lowered to one matmul (as torchts' Conv2d does on 2x2
maps), and with a one-ulp change of the input. It prints, per variant, the
largest |difference| from the default run in each parameter group, and how
many elements of conv1.weight are outside the parity test's tolerance
(rtol 1e-3, atol 1e-5).

    python3 bench/resnet_parity_spread.py [--seeds 6]

Uses only torch (test/reference/resnet_model.py); results in BENCHMARKS.md.
"""
import argparse
import contextlib
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "reference"))
from resnet_model import ResNet  # noqa: E402
from tiny_map_conv import use_tiny_map_convs  # noqa: E402

RTOL, ATOL = 1e-3, 1e-5


CONFIG = {"lr": 0.05, "batch": 4, "side": 64, "steps": 5}


def sgd_case(seed, *, lowered=False, nudge=False):
    torch.manual_seed(seed)
    model = ResNet([2, 2, 2, 2], num_classes=10, stem="imagenet")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "bn" in name or "downsample.1." in name:
                p.copy_(torch.rand(p.shape) + 0.5)
    x = torch.randn(CONFIG["batch"], 3, CONFIG["side"], CONFIG["side"])
    y = torch.randint(0, 10, (CONFIG["batch"],))
    if nudge:
        x = torch.nextafter(x, torch.full_like(x, float("inf")))
    if lowered:
        use_tiny_map_convs(model)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=CONFIG["lr"], momentum=0.9, nesterov=True, weight_decay=5e-4, foreach=False)
    for _ in range(CONFIG["steps"]):
        opt.zero_grad()
        F.cross_entropy(model(x), y, label_smoothing=0.1).backward()
        opt.step()
    return {name: p.detach().clone() for name, p in model.named_parameters()}


@contextlib.contextmanager
def threads(count):
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def variants(seed):
    yield "1 thread", lambda: _with(threads(1), seed)
    yield "oneDNN off", lambda: _with(torch.backends.mkldnn.flags(enabled=False), seed)
    yield "layer4 as matmul", lambda: sgd_case(seed, lowered=True)
    yield "input +1 ulp", lambda: sgd_case(seed, nudge=True)


def _with(context, seed):
    with context:
        return sgd_case(seed)


def group(name):
    return "conv1.weight" if name == "conv1.weight" else name.split(".")[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--lr", type=float, default=CONFIG["lr"])
    parser.add_argument("--batch", type=int, default=CONFIG["batch"])
    parser.add_argument("--side", type=int, default=CONFIG["side"])
    parser.add_argument("--steps", type=int, default=CONFIG["steps"])
    args = parser.parse_args()
    CONFIG.update(lr=args.lr, batch=args.batch, side=args.side, steps=args.steps)
    torch.set_num_threads(2)
    print(f"{args.steps} steps, lr {args.lr}, batch {args.batch}, {args.side}x{args.side}; torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    for seed in range(args.seeds):
        base = sgd_case(seed)
        for label, run in variants(seed):
            other = run()
            worst = {}
            for name, value in base.items():
                diff = (other[name] - value).abs().max().item()
                worst[group(name)] = max(worst.get(group(name), 0.0), diff)
            c1, c1_base = other["conv1.weight"], base["conv1.weight"]
            outside = int(((c1 - c1_base).abs() > ATOL + RTOL * c1_base.abs()).sum())
            cells = ", ".join(f"{g} {d:.1e}" for g, d in worst.items())
            print(f"seed {seed} {label:>16}: conv1.weight outside tolerance {outside:>4}/{c1.numel()}; max |diff| {cells}")


if __name__ == "__main__":
    main()
