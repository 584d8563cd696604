"""Checks exported ONNX files with Python's `onnx` package: the checker with
full shape inference, and the node count per op type.

    python3 -m venv /tmp/onnx-venv && /tmp/onnx-venv/bin/pip install onnx
    /tmp/onnx-venv/bin/python bench/onnx-check.py model.onnx [more.onnx ...]
"""
import collections
import sys

import onnx


def main(paths):
    for path in paths:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        ops = collections.Counter(node.op_type for node in model.graph.node)
        inputs = [(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]) for i in model.graph.input]
        print(f"{path}: onnx.checker ok (full_check), IR {model.ir_version}, opset {model.opset_import[0].version}, "
              f"{len(model.graph.node)} nodes {dict(ops)}, inputs {inputs}")


if __name__ == "__main__":
    main(sys.argv[1:])
