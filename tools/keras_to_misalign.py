#!/usr/bin/env python3
"""Convert a Keras .h5 model of the misalignment network into a misalign weight file (.mlw).

Usage: keras_to_misalign.py IN.h5 OUT.mlw

Needs only h5py and numpy. Reads the model configuration stored in the .h5 attributes (Keras 3
and Keras 2 / tf_keras layouts), checks that the layer sequence is exactly the topology of
spec/network.md (refusing anything else with a message naming the first mismatch), transposes
the kernels into the canonical order of src/net/topology.rs, rounds to f16 and writes the format
of weights/FORMAT.md -- byte for byte what the Rust encoder writes for the same values.
"""
import json
import os
import struct
import sys
import zlib

import h5py
import numpy as np

MAGIC = b"MISALNET"
FORMAT_VERSION = 1
TOPOLOGY_ID = 1
FILTERS = [16, 16, 32, 64]
IN_CHANNELS = [1, 16, 16, 32]
POOLS = [2, 2, 2, 4]
PARAM_COUNT = 110_897
TENSOR_COUNT = 28


class Refused(Exception):
    """The model is not the network this tool converts."""


def as_list(v, n=3):
    if isinstance(v, (list, tuple)):
        return [int(x) for x in v]
    return [int(v)] * n


def read_config(h5):
    raw = h5.attrs.get("model_config")
    if raw is None:
        raise Refused("no 'model_config' attribute: not a full Keras model file (weights-only?)")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    cfg = json.loads(raw)
    inner = cfg.get("config", {})
    layers = inner.get("layers") if isinstance(inner, dict) else inner
    if not isinstance(layers, list):
        raise Refused(f"model class {cfg.get('class_name')!r} has no layer list")
    return [(l["class_name"], l.get("config", {})) for l in layers]


def merge_activations(layers):
    """Fold Conv3D(linear) + Activation('relu')/ReLU() into one relu Conv3D."""
    out = []
    for cls, cfg in layers:
        is_relu = (cls == "Activation" and cfg.get("activation") == "relu") or (
            cls == "ReLU" and not cfg.get("max_value") and not cfg.get("negative_slope")
            and not cfg.get("threshold"))
        if is_relu and out and out[-1][0] == "Conv3D" and out[-1][1].get("activation") == "linear":
            merged = dict(out[-1][1], activation="relu")
            out[-1] = ("Conv3D", merged)
            continue
        out.append((cls, cfg))
    return out


def expect(cond, where, what):
    if not cond:
        raise Refused(f"{where}: {what}")


def check_topology(layers):
    """Returns (names of the 4 conv, 4 bn and 2 dense layers, epsilon) or raises Refused."""
    seq = [(c, cfg) for c, cfg in merge_activations(layers) if c != "InputLayer"]
    for c, cfg in layers:
        if c == "InputLayer":
            shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
            expect(shape is None or list(shape)[1:] == [32, 32, 32, 1],
                   f"input layer {cfg.get('name')!r}",
                   f"expected input shape (None, 32, 32, 32, 1), found {shape}")
    pos = 0

    def take(cls_names, role):
        nonlocal pos
        if pos >= len(seq):
            raise Refused(f"layer {pos + 1}: expected {role} ({'/'.join(cls_names)}), "
                          "found the end of the model")
        c, cfg = seq[pos]
        where = f"layer {pos + 1} ({cfg.get('name')!r}, {c})"
        if c not in cls_names:
            raise Refused(f"{where}: expected {role} ({'/'.join(cls_names)})")
        pos += 1
        return c, cfg, where

    convs, bns, eps = [], [], None
    for b in range(4):
        _, cfg, where = take(["Conv3D"], f"conv block {b + 1} convolution")
        expect(cfg.get("filters") == FILTERS[b], where,
               f"expected {FILTERS[b]} filters, found {cfg.get('filters')}")
        expect(as_list(cfg.get("kernel_size")) == [3, 3, 3], where,
               f"expected a 3x3x3 kernel, found {cfg.get('kernel_size')}")
        expect(as_list(cfg.get("strides", 1)) == [1, 1, 1], where, "expected stride 1")
        expect(as_list(cfg.get("dilation_rate", 1)) == [1, 1, 1], where, "expected dilation 1")
        expect(cfg.get("groups", 1) == 1, where, "expected groups = 1")
        expect(cfg.get("padding") == "same", where,
               f"expected padding 'same', found {cfg.get('padding')!r}")
        expect(cfg.get("data_format", "channels_last") == "channels_last", where,
               "expected data_format channels_last")
        expect(cfg.get("activation") == "relu", where,
               f"expected activation relu, found {cfg.get('activation')!r}")
        expect(cfg.get("use_bias", True) is True, where, "expected a bias")
        convs.append(cfg["name"])
        c, cfg, where = take(["MaxPooling3D", "GlobalMaxPooling3D"] if b == 3 else ["MaxPooling3D"],
                             f"max pooling of block {b + 1}")
        if c == "MaxPooling3D":
            pool = as_list(cfg.get("pool_size"))
            strides = cfg.get("strides")
            strides = pool if strides is None else as_list(strides)
            expect(pool == [POOLS[b]] * 3 and strides == pool, where,
                   f"expected pool size and stride {POOLS[b]}, found {pool} / {strides}")
            expect(cfg.get("padding", "valid") == "valid", where, "expected padding 'valid'")
        global_pool = c == "GlobalMaxPooling3D"
        _, cfg, where = take(["BatchNormalization"], f"batch normalisation of block {b + 1}")
        axis = cfg.get("axis", -1)
        axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
        expect(axis in (-1, 4), where, f"expected normalisation over channels, axis {axis}")
        expect(cfg.get("center", True) and cfg.get("scale", True), where,
               "expected both beta (center) and gamma (scale)")
        e = float(cfg.get("epsilon", 1e-3))
        expect(eps is None or e == eps, where, f"epsilon {e} differs from the first block's {eps}")
        eps = e
        bns.append(cfg["name"])
    if not global_pool:
        take(["Flatten", "GlobalMaxPooling3D", "GlobalAveragePooling3D"], "flatten")
    _, cfg, where = take(["Dense"], "hidden dense layer")
    expect(cfg.get("units") == 512 and cfg.get("activation") == "relu", where,
           f"expected 512 relu units, found {cfg.get('units')} {cfg.get('activation')!r}")
    expect(cfg.get("use_bias", True) is True, where, "expected a bias")
    dense = [cfg["name"]]
    if pos < len(seq) and seq[pos][0] == "Dropout":
        pos += 1  # identity at inference
    _, cfg, where = take(["Dense"], "output dense layer")
    expect(cfg.get("units") == 1 and cfg.get("activation") == "sigmoid", where,
           f"expected 1 sigmoid unit, found {cfg.get('units')} {cfg.get('activation')!r}")
    expect(cfg.get("use_bias", True) is True, where, "expected a bias")
    dense.append(cfg["name"])
    if pos < len(seq):
        c, cfg = seq[pos]
        raise Refused(f"layer {pos + 1} ({cfg.get('name')!r}, {c}): unexpected layer after the "
                      "sigmoid output")
    return convs, bns, dense, eps


def layer_weights(h5, name):
    root = h5["model_weights"] if "model_weights" in h5 else h5
    if name not in root:
        raise Refused(f"no weights stored for layer {name!r}")
    group = root[name]
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("weight_names", [])]
    out = {}
    for n in names:
        key = n.split("/")[-1].split(":")[0]
        out[key] = np.asarray(group[n], dtype=np.float32)
    return out


def get(ws, key, shape, layer):
    if key not in ws:
        raise Refused(f"layer {layer!r}: weight {key!r} missing (has {sorted(ws)})")
    w = ws[key]
    if tuple(w.shape) != tuple(shape):
        raise Refused(f"layer {layer!r}: weight {key!r} has shape {w.shape}, expected {shape}")
    return w


def collect(h5, convs, bns, dense):
    tensors = []
    for b in range(4):
        ci, co = IN_CHANNELS[b], FILTERS[b]
        ws = layer_weights(h5, convs[b])
        k = get(ws, "kernel", (3, 3, 3, ci, co), convs[b])
        # Keras (kd, kh, kw, in, out) with kd/kh/kw = z/y/x -> ours (out, in, kz, ky, kx).
        tensors.append(("kernel", np.transpose(k, (4, 3, 0, 1, 2))))
        tensors.append(("bias", get(ws, "bias", (co,), convs[b])))
        ws = layer_weights(h5, bns[b])
        for key in ("gamma", "beta", "moving_mean", "moving_variance"):
            tensors.append((f"{bns[b]}.{key}", get(ws, key, (co,), bns[b])))
    ws = layer_weights(h5, dense[0])
    tensors.append(("dense.kernel", get(ws, "kernel", (64, 512), dense[0]).T))
    tensors.append(("dense.bias", get(ws, "bias", (512,), dense[0])))
    ws = layer_weights(h5, dense[1])
    tensors.append(("dense_1.kernel", get(ws, "kernel", (512, 1), dense[1]).T))
    tensors.append(("dense_1.bias", get(ws, "bias", (1,), dense[1])))
    return tensors


def encode(tensors, eps):
    eps32 = np.float32(eps)
    if not (np.isfinite(eps32) and eps32 > 0):
        raise Refused(f"batch-norm epsilon {eps} is not a finite positive number")
    flat = []
    for name, t in tensors:
        t32 = np.ascontiguousarray(t, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(t32)):
            raise Refused(f"{name}: NaN or infinite value")
        h = t32.astype("<f2")
        if not np.all(np.isfinite(h)):
            raise Refused(f"{name}: value too large for f16 (max 65504)")
        if name.endswith("moving_variance") and np.any(h.astype(np.float32) < 0):
            raise Refused(f"{name}: negative variance")
        flat.append(h)
    payload = np.concatenate(flat)
    assert len(tensors) == TENSOR_COUNT and payload.size == PARAM_COUNT, payload.size
    header = struct.pack("<8sHHfII", MAGIC, FORMAT_VERSION, TOPOLOGY_ID, eps32, TENSOR_COUNT,
                         PARAM_COUNT)
    body = header + payload.tobytes()
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def convert(src, dst):
    with h5py.File(src, "r") as h5:
        convs, bns, dense, eps = check_topology(read_config(h5))
        data = encode(collect(h5, convs, bns, dense), eps)
    tmp = f"{dst}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dst)
    return eps


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        eps = convert(argv[1], argv[2])
    except Refused as e:
        print(f"keras_to_misalign: refusing {argv[1]}: {e}", file=sys.stderr)
        return 1
    except (OSError, KeyError, ValueError, json.JSONDecodeError) as e:
        print(f"keras_to_misalign: cannot read {argv[1]}: {e}", file=sys.stderr)
        return 1
    print(f"wrote {argv[2]} ({PARAM_COUNT} parameters, epsilon {eps})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
