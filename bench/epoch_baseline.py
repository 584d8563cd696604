"""The usual PyTorch pipeline for bench/epoch.ts: PIL decode per item plus
RandomCrop(32, padding=4) / RandomHorizontalFlip / Normalize in a Dataset,
a DataLoader with 2 workers, feeding ResNet-18 (imagenet stem) train steps
(SGD nesterov, label smoothing) for one epoch. Prints JSON."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "reference"))
from data_baseline import JpegFolder  # noqa: E402
from resnet_model import ResNet  # noqa: E402

root = sys.argv[1]
config = json.loads(sys.argv[2])
torch.set_num_threads(config["threads"])
torch.manual_seed(0)
model = ResNet([2, 2, 2, 2], num_classes=10, stem="imagenet")
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
loader = DataLoader(JpegFolder(root), batch_size=config["batch"], shuffle=True, num_workers=2, drop_last=True)
model.train()
start = time.perf_counter()
images = 0
for index, (x, y) in enumerate(loader):
    if config["batches"] and index >= config["batches"]:
        break
    opt.zero_grad()
    F.cross_entropy(model(x), y, label_smoothing=0.1).backward()
    opt.step()
    images += x.shape[0]
seconds = time.perf_counter() - start
print(json.dumps({"imagesPerSecond": images / seconds, "seconds": seconds, "images": images}))
