"""PyTorch DDP itself (gloo, 2 processes via torch.multiprocessing.spawn) on
the test's initial weights and per-rank batches: SGD for `steps` steps, then
rank 0's parameters and buffers. The model mirrors test/helpers/ddp-worker.ts.
"""
import os
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from common import load, main, save


def build(batch_norm):
    layers = [nn.Conv2d(3, 4, 3, padding=1)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(4))
    layers += [nn.ReLU(), nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.Linear(16, 3)]
    return nn.Sequential(*layers)


def rank_main(rank, in_file, out_file, config):
    torch.set_num_threads(1)
    os.environ["GLOO_SOCKET_IFNAME"] = os.environ.get("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{config['port']}", rank=rank, world_size=config["worldSize"])
    inputs, _ = load(in_file)
    model = build(config["batchNorm"])
    model.load_state_dict({k[len("model."):]: v for k, v in inputs.items() if k.startswith("model.")})
    ddp = DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])
    for step in range(config["steps"]):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(ddp(inputs[f"x.{rank}.{step}"]), inputs[f"y.{rank}.{step}"])
        loss.backward()
        optimizer.step()
    if rank == 0:
        save(out_file, dict(model.state_dict()))
    dist.barrier()
    dist.destroy_process_group()


def compute(inputs, config):
    with tempfile.TemporaryDirectory() as tmp:
        in_file = os.path.join(tmp, "in.safetensors")
        out_file = os.path.join(tmp, "out.safetensors")
        save(in_file, inputs)
        mp.spawn(rank_main, args=(in_file, out_file, config), nprocs=config["worldSize"], join=True)
        result, _ = load(out_file)
    return result


if __name__ == "__main__":
    main(compute)
