"""Reference for test/resnet.test.ts.

The network is written here after torchvision.models.resnet (BasicBlock,
ResNet, _make_layer, the kaiming-normal init loop, names), because
torchvision is not importable with this CPU wheel; only the stem differs for
the 'cifar' variant (3x3/1 conv, no max-pool). Everything is plain torch.nn.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import main


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, layers, num_classes=1000, stem="imagenet", zero_init_residual=False):
        super().__init__()
        self.inplanes = 64
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if stem == "imagenet" else None
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(BasicBlock(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


DEPTHS = {"resnet18": [2, 2, 2, 2], "resnet34": [3, 4, 6, 3]}


def compute(inputs, config):
    out = {}
    for case in config["cases"]:
        cid = case["id"]
        build = lambda: ResNet(DEPTHS[case["arch"]], num_classes=case["classes"], stem=case["stem"])
        torch.manual_seed(case["initSeed"])
        fresh = build()
        for name, t in fresh.state_dict().items():
            out[f"{cid}.init.{name}"] = t
        out[f"{cid}.param_count"] = torch.tensor([sum(p.numel() for p in fresh.parameters())], dtype=torch.int64)

        model = build()
        model.load_state_dict({k[len(cid) + 7:]: v for k, v in inputs.items() if k.startswith(f"{cid}.state.")})
        x, y = inputs[f"{cid}.x"], inputs[f"{cid}.y"]
        model.train()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        out[f"{cid}.loss_ls"] = F.cross_entropy(logits, y, label_smoothing=0.1).detach()
        loss.backward()
        out[f"{cid}.train_logits"] = logits
        out[f"{cid}.loss"] = loss.detach()
        for name, p in model.named_parameters():
            out[f"{cid}.grad.{name}"] = p.grad
        with torch.no_grad():
            model(inputs[f"{cid}.x2"])
            model(inputs[f"{cid}.x3"])
        for name, b in model.named_buffers():
            out[f"{cid}.stats.{name}"] = b.clone()  # later train steps update buffers in place
        model.eval()
        with torch.no_grad():
            out[f"{cid}.eval_logits"] = model(x)
        if case.get("sgd"):
            model.train()
            opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4, foreach=False)
            for _ in range(5):
                opt.zero_grad()
                F.cross_entropy(model(x), y, label_smoothing=0.1).backward()
                opt.step()
            for name, p in model.named_parameters():
                out[f"{cid}.sgd.{name}"] = p
            model.eval()
            with torch.no_grad():
                out[f"{cid}.sgd_eval_logits"] = model(x)
            torch.save(model.state_dict(), case["pythonPath"])
            theirs = build()
            theirs.load_state_dict(torch.load(case["oursPath"]))
            theirs.eval()
            with torch.no_grad():
                out[f"{cid}.ours_in_torch_logits"] = theirs(x)
    return out


if __name__ == "__main__":
    main(compute)
