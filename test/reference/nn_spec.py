"""torch.nn counterparts of test/helpers/nn-spec.ts."""
import torch.nn as nn


def build_layer(spec):
    kind = spec["kind"]
    if kind == "conv2d":
        return nn.Conv2d(spec["inChannels"], spec["outChannels"], spec["kernelSize"], stride=spec.get("stride", 1),
                         padding=spec.get("padding", 0), dilation=spec.get("dilation", 1), groups=spec.get("groups", 1),
                         bias=spec.get("bias", True), padding_mode=spec.get("paddingMode", "zeros"))
    if kind == "batchnorm2d":
        return nn.BatchNorm2d(spec["numFeatures"], eps=spec.get("eps", 1e-5), momentum=spec.get("momentum", 0.1),
                              affine=spec.get("affine", True), track_running_stats=spec.get("trackRunningStats", True))
    if kind == "linear":
        return nn.Linear(spec["inFeatures"], spec["outFeatures"], bias=spec.get("bias", True))
    if kind == "maxpool2d":
        return nn.MaxPool2d(spec["kernelSize"], stride=spec.get("stride"), padding=spec.get("padding", 0),
                            ceil_mode=spec.get("ceilMode", False))
    if kind == "avgpool2d":
        return nn.AvgPool2d(spec["kernelSize"], stride=spec.get("stride"), padding=spec.get("padding", 0))
    if kind == "adaptiveavgpool2d":
        return nn.AdaptiveAvgPool2d(tuple(spec["outputSize"]))
    if kind == "relu":
        return nn.ReLU()
    if kind == "dropout":
        return nn.Dropout(spec["p"])
    if kind == "flatten":
        return nn.Flatten(spec.get("startDim", 1))
    if kind == "identity":
        return nn.Identity()
    raise ValueError(kind)
