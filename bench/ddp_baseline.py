"""PyTorch side of bench/ddp.ts: ResNet-18 (imagenet stem, 32x32 inputs, as
the cpu preset's first epochs) SGD train steps, either under PyTorch's own
DistributedDataParallel (gloo, `ranks` processes by mp.spawn, `threads`
each, `batch` per rank) or in one process (`threads`, batch `batch`).
Prints one JSON line: the median step time in seconds."""
import json
import os
import statistics
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "reference"))
from resnet_model import ResNet  # noqa: E402


def timed_steps(model, step_input, config):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = step_input
    samples = []
    for i in range(config["warmup"] + config["steps"]):
        start = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if i >= config["warmup"]:
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def batch(config, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(config["batch"], 3, 32, 32, generator=g), torch.randint(0, 10, (config["batch"],), generator=g)


def rank_main(rank, config, out_file):
    torch.set_num_threads(config["threads"])
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{config['port']}", rank=rank, world_size=config["ranks"])
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(ResNet([2, 2, 2, 2], num_classes=10, stem="imagenet"))
    seconds = timed_steps(model, batch(config, rank), config)
    if rank == 0:
        with open(out_file, "w") as f:
            json.dump({"stepSeconds": seconds}, f)
    dist.barrier()
    dist.destroy_process_group()


def main():
    config = json.loads(sys.argv[1])
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    if config["mode"] == "single":
        torch.set_num_threads(config["threads"])
        torch.manual_seed(0)
        seconds = timed_steps(ResNet([2, 2, 2, 2], num_classes=10, stem="imagenet"), batch(config, 0), config)
        print(json.dumps({"stepSeconds": seconds}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, "out.json")
        mp.spawn(rank_main, args=(config, out_file), nprocs=config["ranks"], join=True)
        with open(out_file) as f:
            print(f.read())


if __name__ == "__main__":
    main()
