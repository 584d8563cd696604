"""Reference for test/keras-resnet.test.ts: the blog post's Keras ResNet18
(../shared/seed/) written in torch.nn from the post's code: biased convs,
BatchNorm eps 1.001e-5 and Keras' momentum 0.99 (PyTorch's 0.01), ZeroPadding2D before the 'valid' stem conv and
max-pool, TensorFlow 'SAME' padding (extra row/column at the bottom/right)
for the stride-2 3x3 convs, biased 1x1 conv + BN shortcuts from stage 3.
Loads the test's weights (Keras layer names) and returns eval logits.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import main

EPS = 1.001e-5


def same_pad(x, kernel, stride):
    def one(size):
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2
    top, bottom = one(x.shape[2])
    left, right = one(x.shape[3])
    return F.pad(x, (left, right, top, bottom))


class Net(nn.Module):
    def __init__(self, classes):
        super().__init__()
        layers = {"conv1_conv": nn.Conv2d(3, 64, 7, stride=2), "conv1_bn": nn.BatchNorm2d(64, eps=EPS, momentum=0.01)}
        self.plan = []
        channels = 64
        for stage, filters, stride in [(2, 64, 1), (3, 128, 2), (4, 256, 2), (5, 512, 2)]:
            for index in (1, 2):
                name = f"conv{stage}_block{index}"
                s = stride if index == 1 else 1
                shortcut = index == 1 and stage > 2
                if shortcut:
                    layers[f"{name}_0_conv"] = nn.Conv2d(channels, filters, 1, stride=s)
                    layers[f"{name}_0_bn"] = nn.BatchNorm2d(filters, eps=EPS, momentum=0.01)
                layers[f"{name}_1_conv"] = nn.Conv2d(channels, filters, 3, stride=s)
                layers[f"{name}_1_bn"] = nn.BatchNorm2d(filters, eps=EPS, momentum=0.01)
                layers[f"{name}_2_conv"] = nn.Conv2d(filters, filters, 3)
                layers[f"{name}_2_bn"] = nn.BatchNorm2d(filters, eps=EPS, momentum=0.01)
                self.plan.append((name, s, shortcut))
                channels = filters
        layers["predictions"] = nn.Linear(512, classes)
        self.layers = nn.ModuleDict(layers)

    def forward(self, x):
        L = self.layers
        x = F.pad(x, (3, 3, 3, 3))
        x = F.relu(L["conv1_bn"](L["conv1_conv"](x)))
        x = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 2)
        for name, stride, shortcut in self.plan:
            identity = L[f"{name}_0_bn"](L[f"{name}_0_conv"](x)) if shortcut else x
            h = F.relu(L[f"{name}_1_bn"](L[f"{name}_1_conv"](same_pad(x, 3, stride))))
            h = L[f"{name}_2_bn"](L[f"{name}_2_conv"](same_pad(h, 3, 1)))
            x = F.relu(h + identity)
        return L["predictions"](x.mean((2, 3)))


def compute(inputs, config):
    model = Net(config["classes"])
    state = {f"layers.{k[len('weight.'):]}": v for k, v in inputs.items() if k.startswith("weight.")}
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        logits = model(inputs["x"])
        model.train()
        model(inputs["x"])  # one training-mode pass: the moving averages move by momentum
    return {
        "logits": logits,
        "params": torch.tensor(sum(p.numel() for p in model.parameters())),
        "running_mean_after": model.layers["conv1_bn"].running_mean,
    }


if __name__ == "__main__":
    main(compute)
