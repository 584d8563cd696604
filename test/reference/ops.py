"""Reference for test/ops-parity.test.ts: each case applies one torch op.

For every case the test sends inputs `<id>.in<k>` and, for differentiable
cases, an upstream gradient `<id>.gout`. We return the output `<id>.out` and
the input gradients `<id>.grad<k>` of (out * gout).sum().
"""
import torch
import torch.nn.functional as F

from common import main

OPS = {
    # elementwise
    "neg": lambda a: torch.neg(a),
    "abs": lambda a: torch.abs(a),
    "exp": lambda a: torch.exp(a),
    "log": lambda a: torch.log(a),
    "log1p": lambda a: torch.log1p(a),
    "sqrt": lambda a: torch.sqrt(a),
    "rsqrt": lambda a: torch.rsqrt(a),
    "square": lambda a: torch.square(a),
    "sigmoid": lambda a: torch.sigmoid(a),
    "tanh": lambda a: torch.tanh(a),
    "relu": lambda a: torch.relu(a),
    "sin": lambda a: torch.sin(a),
    "cos": lambda a: torch.cos(a),
    "erf": lambda a: torch.erf(a),
    "reciprocal": lambda a: torch.reciprocal(a),
    "floor": lambda a: torch.floor(a),
    "round": lambda a: torch.round(a),
    "sign": lambda a: torch.sign(a),
    "clamp": lambda a, min, max: torch.clamp(a, min, max),
    "pow_scalar": lambda a, exponent: torch.pow(a, exponent),
    "pow_tensor": lambda a, b: torch.pow(a, b),
    "add": lambda a, b, alpha=1: torch.add(a, b, alpha=alpha),
    "add_scalar": lambda a, value: a + value,
    "sub": lambda a, b: torch.sub(a, b),
    "mul": lambda a, b: torch.mul(a, b),
    "mul_scalar": lambda a, value: a * value,
    "div": lambda a, b: torch.div(a, b),
    "div_floor": lambda a, b: torch.div(a, b, rounding_mode="floor"),
    "remainder": lambda a, b: torch.remainder(a, b),
    "maximum": lambda a, b: torch.maximum(a, b),
    "minimum": lambda a, b: torch.minimum(a, b),
    "where": lambda c, a, b: torch.where(c, a, b),
    "lerp": lambda a, b, weight: torch.lerp(a, b, weight),
    "eq": lambda a, b: torch.eq(a, b),
    "lt_scalar": lambda a, value: torch.lt(a, value),
    "ge": lambda a, b: torch.ge(a, b),
    "logical_and": lambda a, b: torch.logical_and(a, b),
    "logical_not": lambda a: torch.logical_not(a),
    "masked_fill": lambda a, mask, value: a.masked_fill(mask, value),
    "add_inplace": lambda a, b: a.clone().add_(b),
    "mul_inplace": lambda a, value: a.clone().mul_(value),
    # linear algebra
    "matmul": lambda a, b: torch.matmul(a, b),
    "mm": lambda a, b: torch.mm(a, b),
    "bmm": lambda a, b: torch.bmm(a, b),
    "linear": lambda x, w, b: F.linear(x, w, b),
    # nn
    "conv2d": lambda x, w, b, stride, padding, dilation, groups: F.conv2d(x, w, b, stride, padding, dilation, groups),
    "batch_norm_train": lambda x, w, b: F.batch_norm(x, torch.zeros(x.shape[1], dtype=x.dtype), torch.ones(x.shape[1], dtype=x.dtype), w, b, training=True, momentum=0.1, eps=1e-5),
    "batch_norm_eval": lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5),
    "max_pool2d": lambda x, kernel, stride, padding: F.max_pool2d(x, kernel, stride, padding),
    "avg_pool2d": lambda x, kernel, stride, padding: F.avg_pool2d(x, kernel, stride, padding),
    "adaptive_avg_pool2d": lambda x, size: F.adaptive_avg_pool2d(x, size),
    "log_softmax": lambda x, dim: F.log_softmax(x, dim),
    "softmax": lambda x, dim: F.softmax(x, dim),
    "cross_entropy": lambda x, t, label_smoothing: F.cross_entropy(x, t, label_smoothing=label_smoothing),
    "cross_entropy_sum": lambda x, t: F.cross_entropy(x, t, reduction="sum"),
    "nll_loss": lambda x, t: F.nll_loss(x, t),
    "mse_loss": lambda a, b: F.mse_loss(a, b),
    "dropout_eval": lambda x, p: F.dropout(x, p, training=False),
    "gelu": lambda x: F.gelu(x),
    "leaky_relu": lambda x, slope: F.leaky_relu(x, slope),
    "affine_grid_sample": lambda x, theta: F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), mode="bilinear", padding_mode="zeros", align_corners=False),
    "interpolate_bilinear": lambda x, size: F.interpolate(x, size=size, mode="bilinear", align_corners=False),
    # reductions
    "sum_all": lambda a: torch.sum(a),
    "sum_dim": lambda a, dim, keepdim: torch.sum(a, dim, keepdim=keepdim),
    "mean_dim": lambda a, dim: torch.mean(a, dim),
    "var": lambda a, dim, correction: torch.var(a, dim, correction=correction),
    "std": lambda a, dim: torch.std(a, dim),
    "prod": lambda a, dim: torch.prod(a, dim),
    "max_dim": lambda a, dim: torch.max(a, dim).values,
    "amax": lambda a, dim: torch.amax(a, dim),
    "logsumexp": lambda a, dim: torch.logsumexp(a, dim),
    "norm": lambda a: torch.linalg.vector_norm(a),
    "cumsum": lambda a, dim: torch.cumsum(a, dim),
    "argmax": lambda a, dim: torch.argmax(a, dim),
    "topk_values": lambda a, k: torch.topk(a, k).values,
    "sort_values": lambda a, dim: torch.sort(a, dim).values,
    "sort_indices": lambda a: torch.sort(a).indices,
    # shape
    "reshape": lambda a, shape: a.reshape(shape),
    "permute": lambda a, dims: a.permute(dims),
    "transpose": lambda a, d0, d1: a.transpose(d0, d1),
    "flatten": lambda a, start: torch.flatten(a, start),
    "unsqueeze": lambda a, dim: a.unsqueeze(dim),
    "squeeze": lambda a: a.squeeze(),
    "expand": lambda a, shape: a.expand(shape),
    "repeat": lambda a, repeats: a.repeat(repeats),
    "cat": lambda a, b, dim: torch.cat([a, b], dim),
    "stack": lambda a, b, dim: torch.stack([a, b], dim),
    "split_last": lambda a, size, dim: torch.split(a, size, dim)[-1],
    "narrow": lambda a, dim, start, length: a.narrow(dim, start, length),
    "select": lambda a, dim, index: a.select(dim, index),
    "flip": lambda a, dims: torch.flip(a, dims),
    "roll": lambda a, shifts, dims: torch.roll(a, shifts, dims),
    "pad_constant": lambda a, pad, value: F.pad(a, pad, mode="constant", value=value),
    "pad_reflect": lambda a, pad: F.pad(a, pad, mode="reflect"),
    "index_select": lambda a, index, dim: torch.index_select(a, dim, index),
    "gather": lambda a, index, dim: torch.gather(a, dim, index),
    "scatter": lambda a, index, src, dim: torch.scatter(a, dim, index, src),
    "index_tensor": lambda a, index: a[index],
    "one_hot": lambda a, classes: F.one_hot(a, classes),
}


def compute(inputs, config):
    outputs = {}
    for case in config["cases"]:
        cid = case["id"]
        xs = [inputs[f"{cid}.in{k}"].clone() for k in range(case["arity"])]
        if case["grad"]:
            for k in case["gradInputs"]:
                xs[k].requires_grad_(True)
        out = OPS[case["op"]](*xs, **case.get("kw", {}))
        outputs[f"{cid}.out"] = out
        if case["grad"]:
            (out * inputs[f"{cid}.gout"]).sum().backward()
            for k in case["gradInputs"]:
                outputs[f"{cid}.grad{k}"] = xs[k].grad
    return outputs


if __name__ == "__main__":
    main(compute)
