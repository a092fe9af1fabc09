"""Store an ONNX graph's weights in fp16 while it still computes in float32.

Every float32 initializer whose values fp16 holds exactly (the exporter has already rounded the weights through
fp16) is stored as float16 and cast back to float32 at the start of the graph; anything fp16 would change (RoPE
frequencies, masks) stays float32. The graph's inputs, outputs and arithmetic are unchanged, so the runtime and its
results are the same as with the float32 pack; the files are about half the size. ONNX Runtime folds the casts
when it loads the graph, so memory in use is that of the float32 pack.
"""
from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MAX_SINGLE_FILE = 1_800_000_000  # protobuf's 2 GB limit, with room for the graph itself


def external_data_files(path: str) -> set:
    """The external-data files the graph at `path` names (relative to its folder)."""
    return {e.value for t in onnx.load(path, load_external_data=False).graph.initializer
            for e in t.external_data if e.key == "location"}


def save_rewritten(model: onnx.ModelProto, path: str, old_files: set) -> None:
    """Saves a graph rewritten in place over `path`: its old external-data files go, and it is written as one
    file or, over the protobuf limit, with all its weights in one external-data file beside it."""
    folder = os.path.dirname(path) or "."
    size = sum(t.ByteSize() for t in model.graph.initializer)
    for f in old_files:
        os.remove(os.path.join(folder, f))
    if size > MAX_SINGLE_FILE:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(path) + ".data", size_threshold=1024)
    else:
        onnx.save_model(model, path)


def store_weights_fp16(path: str, min_elements: int = 16, lossy: bool = False) -> int:
    """Rewrite the graph at `path` in place; returns the number of initializers now stored as fp16.
    lossy: also round weights fp16 does not hold exactly (only tensors of at least `min_elements` whose fp16
    values are all finite: pass a large min_elements so RoPE frequencies and similar small tables stay exact)."""
    old_files = external_data_files(path)
    model = onnx.load(path)
    graph = model.graph
    kept, casts = [], []
    for t in graph.initializer:
        arr = numpy_helper.to_array(t) if t.data_type == TensorProto.FLOAT else None
        if arr is None or arr.size < min_elements:
            kept.append(t)
            continue
        half = arr.astype(np.float16)
        if not (np.isfinite(half).all() if lossy else np.array_equal(half.astype(np.float32), arr)):
            kept.append(t)
            continue
        kept.append(numpy_helper.from_array(half, t.name + "__fp16"))
        casts.append(helper.make_node("Cast", [t.name + "__fp16"], [t.name], to=TensorProto.FLOAT,
                                      name=t.name + "__to_float"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)  # the casts first keeps the node list in topological order
    del graph.node[:]
    graph.node.extend(nodes)
    save_rewritten(model, path, old_files)
    return len(casts)
