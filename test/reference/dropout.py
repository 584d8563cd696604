"""Reference for the dropout-mask test: same seed, same draw."""
import torch
import torch.nn.functional as F

from common import main


def compute(inputs, config):
    torch.manual_seed(config["seed"])
    return {"out": F.dropout(inputs["x"], config["p"], training=True)}


if __name__ == "__main__":
    main(compute)
