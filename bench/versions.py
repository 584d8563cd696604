"""Prints the PyTorch version the Python baselines use, as JSON."""
import json

import torch

print(json.dumps({"version": torch.__version__}))
