"""Convert models made elsewhere into .unet files.

- A bioimage.io model (its rdf YAML with ONNX weights): the ONNX graph is read into a U-Net
  config of DESIGN section 5 and its initialisers are assigned, in graph order, to libunet's
  tensors (shapes must agree exactly). Preprocessing, the stated halo (which can only raise the
  computed one) and the output kind are carried into the metadata.
- A state dict in the reference naming (safetensors, or a PyTorch .pt/.pth file) plus its
  config.

Command line: python3 -m unet import MODEL.yaml|STATE.safetensors [--config CFG] -o OUT.unet
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional

import numpy as np

from .model import Model, PathLike

# ONNX op -> block letter of DESIGN section 5.
_BLOCK_OPS = {"Conv": "c", "Relu": "r", "LeakyRelu": "l", "Elu": "e",
              "BatchNormalization": "b", "Dropout": "d"}
_IGNORED = {"Constant", "Identity", "Shape", "Gather", "Cast", "Unsqueeze", "Concat"}


class ImportError_(ValueError):
    """The model cannot be expressed as a libunet U-Net."""


def _attr(node, name, default=None):
    import onnx.helper
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _check_supported(graph):
    supported = set(_BLOCK_OPS) | _IGNORED | {"MaxPool", "AveragePool", "Resize", "Upsample",
                                              "ConvTranspose", "Sigmoid", "Softmax"}
    for node in graph.node:
        if node.op_type not in supported:
            raise ImportError_("unsupported ONNX node '%s' (op %s): libunet U-Nets are built "
                               "from Conv, ConvTranspose, Relu, LeakyRelu, Elu, "
                               "BatchNormalization, MaxPool, AveragePool, Resize, Concat, "
                               "Sigmoid, Softmax" % (node.name or node.output[0], node.op_type))


def onnx_to_config(graph: Any, inits: Dict[str, np.ndarray]) -> Dict[str, Any]:
    """Read the U-Net config off the op sequence of an ONNX graph."""
    _check_supported(graph)
    nodes = [n for n in graph.node if n.op_type not in _IGNORED]
    convs = [n for n in nodes if n.op_type == "Conv"]
    if not convs:
        raise ImportError_("the ONNX graph has no convolution")
    pools = [n for n in nodes if n.op_type in ("MaxPool", "AveragePool")]
    ups = [n for n in nodes if n.op_type in ("Resize", "Upsample", "ConvTranspose")]
    if len(ups) != len(pools):
        raise ImportError_("%d downsamplings but %d upsamplings: not a U-Net" % (len(pools), len(ups)))
    first = convs[0]
    w0 = inits[first.input[1]]
    k = int(w0.shape[-1])
    pads = list(_attr(first, "pads", [0, 0, 0, 0]))
    if pads not in ([k // 2] * 4, [0] * 4):
        raise ImportError_("first convolution has pads %s: neither same nor valid" % pads)
    block = ""
    for n in nodes:
        if n.op_type in ("MaxPool", "AveragePool", "Resize", "Upsample", "ConvTranspose"):
            break
        block += _BLOCK_OPS.get(n.op_type, "")
    cfg = {"ndim": 2, "in_channels": int(w0.shape[1]), "depth": len(pools) + 1,
           "base_features": int(w0.shape[0]), "kernel_size": k,
           "padding": "same" if pads[0] == k // 2 else "valid", "block": block}
    if pools:
        level1 = [n for n in convs if nodes.index(n) > nodes.index(pools[0])][0]
        cfg["growth"] = float(inits[level1.input[1]].shape[0]) / cfg["base_features"]
        cfg["downsample"] = "maxpool" if pools[0].op_type == "MaxPool" else "avgpool"
        cfg["factor"] = int(list(_attr(pools[0], "kernel_shape"))[0])
        up = ups[0]
        if up.op_type == "ConvTranspose":
            cfg["upsample"] = "transposed"
        else:
            mode = _attr(up, "mode", b"nearest")
            mode = mode.decode() if isinstance(mode, bytes) else mode
            cfg["upsample"] = "bilinear" if mode == "linear" else "nearest"
            following = nodes[nodes.index(up) + 1]
            cfg["upsample_conv"] = (following.op_type == "Conv"
                                    and list(inits[following.input[1]].shape[-2:]) == [1, 1])
    last = nodes[-1].op_type
    cfg["final_activation"] = {"Sigmoid": "sigmoid", "Softmax": "softmax"}.get(last, "none")
    cfg["out_channels"] = int(inits[convs[-1].input[1]].shape[0])
    return cfg


def onnx_parameters(graph: Any, inits: Dict[str, np.ndarray]) -> List[np.ndarray]:
    """Parameter arrays in graph order, as libunet's builder orders its tensors: convolution
    weight and bias, batchnorm scale, bias, mean and variance."""
    out = []
    for n in graph.node:
        if n.op_type in ("Conv", "ConvTranspose"):
            w = inits[n.input[1]]
            b = inits[n.input[2]] if len(n.input) > 2 and n.input[2] else None
            if b is None:
                b = np.zeros(w.shape[1] if n.op_type == "ConvTranspose" else w.shape[0], np.float32)
            out += [w, b]
        elif n.op_type == "BatchNormalization":
            out += [inits[n.input[i]] for i in (1, 2, 3, 4)]
    return out


def _preprocessing(rdf):
    for inp in rdf.get("inputs", [])[:1]:
        for step in inp.get("preprocessing", []) or []:
            name = step.get("id") or step.get("name")
            kw = step.get("kwargs", {}) or {}
            if name == "zero_mean_unit_variance":
                return {"normalize": "zmuv", "eps": float(kw.get("eps", 1e-6))}
            if name == "scale_range":
                return {"normalize": "percentile", "low": float(kw.get("min_percentile", 0)),
                        "high": float(kw.get("max_percentile", 100))}
    return None


def _halo(rdf):
    halo = 0
    for out in rdf.get("outputs", []):
        for axis in out.get("axes", []) or []:
            if isinstance(axis, dict):
                halo = max(halo, int(axis.get("halo", 0) or 0))
        for h in out.get("halo", []) or []:  # format 0.4: a list per axis
            halo = max(halo, int(h))
    return halo


def import_bioimageio(rdf_path: PathLike, out_path: Optional[PathLike] = None) -> Model:
    """A Model from a bioimage.io rdf YAML with ONNX weights; saved to out_path if given."""
    import onnx
    import onnx.numpy_helper
    import yaml
    with open(rdf_path) as f:
        rdf = yaml.safe_load(f)
    weights = (rdf.get("weights") or {}).get("onnx")
    if not weights:
        raise ImportError_("%s has no ONNX weights entry" % rdf_path)
    onnx_path = os.path.join(os.path.dirname(os.path.abspath(rdf_path)), weights["source"])
    graph = onnx.load(onnx_path).graph
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}
    cfg = onnx_to_config(graph, inits)
    post = [s.get("id") or s.get("name") for o in rdf.get("outputs", [])
            for s in (o.get("postprocessing") or [])]
    if cfg["final_activation"] == "none" and "sigmoid" in post:
        cfg["final_activation"] = "sigmoid"
    model = Model.create(cfg)
    names = list(model.state_dict())
    arrays = onnx_parameters(graph, inits)
    if len(arrays) != len(names):
        raise ImportError_("the ONNX graph has %d parameter tensors, the U-Net config %s needs "
                           "%d" % (len(arrays), json.dumps(cfg), len(names)))
    state = {}
    for name, arr, want in zip(names, arrays, model.state_dict().values()):
        if arr.shape != want.shape:
            raise ImportError_("tensor %s: ONNX has shape %s, the config needs %s"
                               % (name, arr.shape, want.shape))
        state[name] = arr.astype(np.float32)
    model.load_state_dict(state)
    pre = _preprocessing(rdf)
    if pre:
        model.set_metadata("preprocessing", pre)
    if _halo(rdf):
        model.set_metadata("halo", _halo(rdf))
    model.set_metadata("output", {"type": "probability" if cfg["final_activation"] != "none"
                                  else "raw", "source": "bioimage.io: %s" % rdf.get("name", "")})
    if out_path:
        model.save(out_path)
    return model


def import_state_dict(path: PathLike, config: Mapping[str, Any],
                      out_path: Optional[PathLike] = None) -> Model:
    """A Model from a state dict in the reference naming (safetensors or PyTorch file)."""
    if str(path).endswith((".pt", ".pth")):
        import torch
        state = torch.load(path, map_location="cpu")
        model = Model.create(config)
        model.load_state_dict(state)
    else:
        model = Model.load(path, config=config)
    if out_path:
        model.save(out_path)
    return model
