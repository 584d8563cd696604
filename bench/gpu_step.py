"""PyTorch eager side of bench/gpu-step.ts: ResNet-18 (cifar stem) train
steps at batch 512 in bf16 autocast + channels_last on CUDA."""
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
torch.manual_seed(0)
torch.backends.cudnn.benchmark = True
model = ResNet([2, 2, 2, 2], num_classes=10, stem="cifar").cuda().to(memory_format=torch.channels_last)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
x = torch.randn(config["batch"], 3, 32, 32, device="cuda").contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 10, (config["batch"],), device="cuda")


def step():
    opt.zero_grad(set_to_none=True)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = F.cross_entropy(model(x).float(), y, label_smoothing=0.1)
    loss.backward()
    opt.step()


for _ in range(config["warmup"]):
    step()
torch.cuda.synchronize()
samples = []
for _ in range(config["repeats"]):
    start = time.perf_counter()
    for _ in range(config["steps"]):
        step()
    torch.cuda.synchronize()
    samples.append((time.perf_counter() - start) / config["steps"])
print(json.dumps({"imagesPerSecond": config["batch"] / statistics.median(samples), "torch": torch.__version__}))
