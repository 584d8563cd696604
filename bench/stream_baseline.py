"""Python side of bench/stream.ts: PyTorch's usual pipeline for a folder of
224x224 JPEGs. A Dataset decodes each file with PIL in __getitem__ and
applies RandomResizedCrop(224) (torchvision's rule, written out: torchvision
does not import with the CPU wheel here), RandomHorizontalFlip, ToTensor and
Normalize; DataLoader(shuffle=True, num_workers=N). Measures images/s of the
stream alone and feeding a ResNet-18 (imagenet stem) train step, and the peak
RSS of this process and of its workers.

Usage: stream_baseline.py <root with <class>/*.jpg> <json config>
"""
import json
import math
import os
import random
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from data_baseline import BasicBlock  # bench/ is on sys.path: this script's folder

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def random_resized_crop_box(width, height, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * random.uniform(*scale)
        aspect = math.exp(random.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            left = random.randint(0, width - w)
            top = random.randint(0, height - h)
            return left, top, w, h
    return 0, 0, width, height


class JpegFolder(Dataset):
    def __init__(self, root):
        classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        self.items = [(os.path.join(root, c, f), label) for label, c in enumerate(classes) for f in sorted(os.listdir(os.path.join(root, c)))]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        path, label = self.items[index]
        with Image.open(path) as image:
            image = image.convert("RGB")
            left, top, w, h = random_resized_crop_box(*image.size)
            image = image.resize((224, 224), Image.BILINEAR, box=(left, top, left + w, top + h))
            if random.random() < 0.5:
                image = image.transpose(Image.FLIP_LEFT_RIGHT)
            pixels = np.asarray(image, dtype=np.uint8)
        x = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float().div_(255)
        return (x - MEAN) / STD, label


class ResNet18(nn.Module):
    """torchvision's resnet18: 7x7/2 stem and 3x3/2 max-pool."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, inp = [], 64
        for out, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers += [BasicBlock(inp, out, stride), BasicBlock(out, out, 1)]
            inp = out
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layers(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def loader(root, batch, workers):
    return DataLoader(JpegFolder(root), batch_size=batch, shuffle=True, num_workers=workers, drop_last=True)


def stream_rate(root, batch, batches, workers):
    started = time.perf_counter()
    iterator = iter(loader(root, batch, workers))
    next(iterator)
    first = time.perf_counter() - started
    start = time.perf_counter()
    images = 0
    for _ in range(batches):
        x, _ = next(iterator)
        images += x.shape[0]
    rate = images / (time.perf_counter() - start)
    del iterator
    return rate, first


def fed_step_rate(root, batch, steps, workers):
    torch.manual_seed(0)
    model = ResNet18()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    iterator = iter(loader(root, batch, workers))

    def step():
        x, y = next(iterator)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    rate = steps * batch / (time.perf_counter() - start)
    del iterator
    return rate


def main():
    root = sys.argv[1]
    config = json.loads(sys.argv[2])
    torch.set_num_threads(config["workers"])
    rate, first = stream_rate(root, config["batch"], config["batches"], config["workers"])
    fed = fed_step_rate(root, config["stepBatch"], config["steps"], config["workers"])
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({"streamImagesPerSecond": rate, "firstBatchSeconds": first, "fedStepImagesPerSecond": fed, "peakRssMB": own / 1e6, "peakWorkerRssMB": workers / 1e6, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
