"""torch.utils.data.DistributedSampler (shuffle=False) applied to the test's
epoch order: which positions each rank takes, padded or dropped."""
import torch
from torch.utils.data import DistributedSampler

from common import main


def compute(inputs, config):
    order = inputs["order"]
    world = config["worldSize"]
    result = {}
    for rank in range(world):
        sampler = DistributedSampler(range(len(order)), num_replicas=world, rank=rank, shuffle=False, drop_last=config["dropLast"])
        result[f"rank{rank}"] = order[torch.tensor(list(sampler), dtype=torch.int64)]
    return result


if __name__ == "__main__":
    main(compute)
