"""Python side of bench/data.ts: what PyTorch users do to feed CIFAR-10 from
JPEG folders, and how fast a ResNet-18 consumes batches on this CPU.

- Stream: a Dataset that decodes each JPEG with PIL in __getitem__ and applies
  RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor and Normalize
  written with plain torch ops (torchvision is not installed), served by
  DataLoader(batch_size=128, shuffle=True, num_workers=2).
- Model: ResNet-18 (the CIFAR variant: 3x3 stem, no max-pool) train steps
  (forward, cross-entropy, backward, SGD) at batch 128, written out here.

Usage: data_baseline.py <root with train/<class>/*.jpg> <json config>
Prints one JSON line last.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset

MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(3, 1, 1)
STD = torch.tensor([0.2470, 0.2435, 0.2616]).view(3, 1, 1)


class JpegFolder(Dataset):
    """torchvision.datasets.ImageFolder's order: sorted classes, sorted files."""

    def __init__(self, root):
        self.classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        self.items = [
            (os.path.join(root, c, f), label)
            for label, c in enumerate(self.classes)
            for f in sorted(os.listdir(os.path.join(root, c)))
        ]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        path, label = self.items[index]
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
        x = torch.from_numpy(pixels.copy()).permute(2, 0, 1)  # CHW uint8
        # RandomCrop(32, padding=4): zero padding, then a random 32x32 window.
        x = F.pad(x, (4, 4, 4, 4))
        top, left = torch.randint(0, 9, (2,)).tolist()
        x = x[:, top : top + 32, left : left + 32]
        # RandomHorizontalFlip(p=0.5)
        if torch.rand(1).item() < 0.5:
            x = x.flip(-1)
        # ToTensor, Normalize
        x = x.float().div_(255)
        x = (x - MEAN) / STD
        return x, label


def stream_batches_per_second(root, batches, workers, batch_size):
    dataset = JpegFolder(os.path.join(root, "train"))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=True, persistent_workers=False)
    started = time.perf_counter()
    iterator = iter(loader)
    next(iterator)  # worker start-up and the first batch
    first = time.perf_counter() - started
    start = time.perf_counter()
    for _ in range(batches):
        images, labels = next(iterator)
    elapsed = time.perf_counter() - start
    assert images.shape == (batch_size, 3, 32, 32) and images.dtype == torch.float32
    del iterator
    return {"batches_per_s": batches / elapsed, "first_batch_s": first, "images": len(dataset)}


class BasicBlock(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.shortcut = nn.Sequential()
        if stride != 1 or inp != out:
            self.shortcut = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, inp = [], 64
        for out, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers += [BasicBlock(inp, out, stride), BasicBlock(out, out, 1)]
            inp = out
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def model_step_seconds(batch_size, threads, repeats):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = ResNet18()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(batch_size, 3, 32, 32)
    y = torch.randint(0, 10, (batch_size,))

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    step()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main():
    root = sys.argv[1]
    config = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    batch_size = config.get("batch", 128)
    results = {}
    runs = [stream_batches_per_second(root, config.get("batches", 60), config.get("workers", 2), batch_size) for _ in range(config.get("repeats", 1))]
    results["stream"] = {
        "batches_per_s": statistics.median(r["batches_per_s"] for r in runs),
        "samples": [r["batches_per_s"] for r in runs],
        "first_batch_s": runs[0]["first_batch_s"],
        "images": runs[0]["images"],
    }
    if config.get("model_repeats", 2) > 0:
        results["model_step_s"] = model_step_seconds(batch_size, config.get("threads", torch.get_num_threads()), config.get("model_repeats", 2))
    results["torch"] = torch.__version__
    results["threads"] = torch.get_num_threads()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
