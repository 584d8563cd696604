"""torchts' Conv2d on tiny maps (native/modules.cc, LoweredConv2d), written
in torch: a conv whose input has at most half as many pixels as the kernel
has taps runs as one matmul with a weight matrix gathered from the kernel.
The same function as conv2d, summed in another order.

References use it where a comparison must not depend on summation order:
several SGD steps on one small batch are chaotic (a last-bit difference
flips a ReLU or max-pool choice and the trajectories part; see
bench/resnet_parity_spread.py), so there both sides must sum alike.
"""
import torch
import torch.nn as nn


def lowered_conv2d(conv, x):
    n, c, h, w = x.shape
    kh, kw = conv.kernel_size
    (sh, sw), (ph, pw) = conv.stride, conv.padding
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    zero_tap = kh * kw
    taps = []
    for oy in range(oh):
        for ox in range(ow):
            for iy in range(h):
                for ix in range(w):
                    ky, kx = iy - (oy * sh - ph), ix - (ox * sw - pw)
                    taps.append(ky * kw + kx if 0 <= ky < kh and 0 <= kx < kw else zero_tap)
    kernel = conv.weight.reshape(conv.out_channels, c, zero_tap)
    if zero_tap in taps:
        kernel = torch.cat([kernel, kernel.new_zeros(conv.out_channels, c, 1)], 2)
    matrix = (
        kernel.index_select(2, torch.tensor(taps, device=x.device))
        .reshape(conv.out_channels, c, oh * ow, h * w)
        .permute(1, 3, 0, 2)
        .reshape(c * h * w, conv.out_channels * oh * ow)
    )
    out = torch.matmul(x.reshape(n, c * h * w), matrix).reshape(n, conv.out_channels, oh, ow)
    if conv.bias is not None:
        out = out + conv.bias.reshape(1, -1, 1, 1)
    channels_last = not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    return out.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def takes_tiny_map_path(conv, x):
    taps = conv.kernel_size[0] * conv.kernel_size[1]
    return (
        conv.groups == 1
        and conv.dilation == (1, 1)
        and conv.padding_mode == "zeros"
        and not isinstance(conv.padding, str)
        and taps > 1
        and 2 * x.shape[2] * x.shape[3] <= taps
    )


def use_tiny_map_convs(model):
    """Makes every Conv2d of `model` take the tiny-map path where torchts' would."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            original = module.forward
            module.forward = lambda x, conv=module, original=original: (
                lowered_conv2d(conv, x) if takes_tiny_map_path(conv, x) else original(x)
            )
    return model
