"""PyTorch side of bench/rss.ts: the same 200 train steps, then peak RSS."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "reference"))
from resnet_model import ResNet  # noqa: E402


def peak_rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


steps = int(sys.argv[1])
torch.set_num_threads(2)
torch.manual_seed(0)
model = ResNet([2, 2, 2, 2], num_classes=10, stem="imagenet")
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
x = torch.randn(128, 3, 32, 32)
y = torch.randint(0, 10, (128,))
start = time.perf_counter()
for _ in range(steps):
    opt.zero_grad()
    F.cross_entropy(model(x), y, label_smoothing=0.1).backward()
    opt.step()
print(json.dumps({"peakRss": peak_rss(), "seconds": time.perf_counter() - start}))
