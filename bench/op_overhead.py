"""Per-op dispatch overhead of Python torch on tiny tensors (the baseline
for bench/op-overhead.ts). Prints one JSON line: ns per op for each case."""
import json
import statistics
import sys
import time

import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
N = 20000
a = torch.randn(2, 2)
b = torch.randn(2, 2)
w = torch.randn(4, 4)
v = torch.randn(3, 4)

CASES = {
    "add(tensor, tensor)": lambda: torch.add(a, b),
    "mul(tensor, scalar)": lambda: torch.mul(a, 0.5),
    "relu": lambda: torch.relu(a),
    "sum (all)": lambda: torch.sum(a),
    "reshape (view)": lambda: a.reshape(4),
    "matmul 3x4 @ 4x4": lambda: torch.matmul(v, w),
    "add_ in place": lambda: a.add_(b),
}


def run(fn):
    for _ in range(2000):
        fn()
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(N):
            fn()
        samples.append((time.perf_counter() - start) / N * 1e9)
    return statistics.median(samples)


print(json.dumps({name: run(fn) for name, fn in CASES.items()}))
