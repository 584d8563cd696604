"""PyTorch side of bench/train-step.ts: ResNet-18 train steps (forward,
cross-entropy, backward, SGD nesterov step) and eval-mode inference on random
32x32 batches. The network is written after torchvision's structure (see
test/reference/resnet.py; torchvision is not installed). Prints JSON."""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "reference"))
from resnet_model import ResNet  # noqa: E402

config = json.loads(sys.argv[1])
torch.set_num_threads(config["threads"])
torch.manual_seed(0)
results = {}


def timed(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


for stem in config["stems"]:
    model = ResNet([2, 2, 2, 2], num_classes=10, stem=stem)
    if config.get("channelsLast"):
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(config["batch"], 3, 32, 32)
    if config.get("channelsLast"):
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (config["batch"],))

    def step():
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(config.get("amp"))):
            loss = F.cross_entropy(model(x).float(), y, label_smoothing=0.1)
        loss.backward()
        opt.step()

    model.train()
    seconds = timed(step, config["warmup"], config["repeats"][stem])
    results[f"train_{stem}"] = config["batch"] / seconds

    if not config.get("inference", True):
        continue
    model.eval()
    xi = torch.randn(config["inferBatch"], 3, 32, 32)
    if config.get("channelsLast"):
        xi = xi.contiguous(memory_format=torch.channels_last)

    def infer():
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(config.get("amp"))):
            model(xi)

    seconds = timed(infer, 1, config["repeats"][stem])
    results[f"infer_{stem}"] = config["inferBatch"] / seconds

print(json.dumps(results))
