#!/usr/bin/env python3
"""Ship the three brain-flair-lgg members (the 1.0.0 ensemble) as one int8 graph: fast enough to run all three with
the left-right flip within 3 s per 22-slice volume on 2 cores.

Post-training static quantisation in the QDQ form onnxruntime fuses into QLinearConv (AVX2 / AVX-512 VNNI kernels):
  * weights int8, symmetric, one scale per output channel; biases int32 at (input scale x weight scale);
  * activations uint8 with the full range seen on calibration slices (min / max; clipping to the 99.99th percentile
    flipped four times as many pixels), measured with onnxruntime-node (activation_ranges.mjs), the app's runtime;
  * each 2 x 2 stride-2 ConvTranspose becomes the equal 1 x 1 Conv to 4 x C channels + DepthToSpace (CRD), which
    quantises too (onnxruntime runs a QDQ ConvTranspose in float);
  * the last convolution (16 -> 1, before the sigmoid) and the mean of the three sigmoids stay float.
Calibration slices: 4 random slices of each of 12 random *training* patients (seed 0), each also mirrored; never a
validation or test patient.

  /usr/bin/python3 models/training/quantise_brain.py [--members A.pt B.pt C.pt] [--out models/brain-flair-lgg/model.onnx]

The manifest.json as it stands is embedded (edit it first, as for export_brain_single.py). Needs node and the
project's node_modules (onnxruntime-node) for the calibration run.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import train_brain as B  # noqa: E402
from export_brain_ensemble import MeanOfSigmoids, load_member  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SIDE = 256
QUANTISED_ACTIVATIONS = ("Relu", "MaxPool", "Concat", "DepthToSpace")


def float_graph(members, path, manifest):
    nets = [load_member(m)[0] for m in members]
    C.export_onnx(MeanOfSigmoids(nets).eval(), 1, "none", path, manifest, C.deepness_meta(**B.DEEPNESS))
    return onnx.load(path)


def upconv_as_depth_to_space(m):
    """ConvTranspose(k=2, s=2) -> Conv 1x1 (Cin -> 4 Cout) + DepthToSpace(2, CRD): the same numbers."""
    g = m.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    nodes, extra = [], []
    for n in g.node:
        if n.op_type != "ConvTranspose":
            nodes.append(n)
            continue
        att = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if list(att.get("kernel_shape", [])) != [2, 2] or list(att.get("strides", [])) != [2, 2] or att.get("group", 1) != 1:
            raise SystemExit("%s: only 2 x 2 stride-2 ConvTranspose is rewritten" % n.name)
        w, b = inits[n.input[1]], inits[n.input[2]]  # w: [Cin, Cout, 2, 2]
        cin, cout = w.shape[:2]
        w1 = w.transpose(1, 2, 3, 0).reshape(cout * 4, cin, 1, 1)  # channel co*4 + a*2 + b, as DepthToSpace CRD reads it
        extra += [numpy_helper.from_array(np.ascontiguousarray(w1, np.float32), n.input[1] + "_1x1"),
                  numpy_helper.from_array(np.repeat(b, 4).astype(np.float32), n.input[2] + "_1x1")]
        pre = n.output[0] + "_1x1"
        nodes.append(helper.make_node("Conv", [n.input[0], n.input[1] + "_1x1", n.input[2] + "_1x1"], [pre],
                                      name=n.name + "_1x1", kernel_shape=[1, 1]))
        nodes.append(helper.make_node("DepthToSpace", [pre], [n.output[0]], name=n.name + "_d2s", blocksize=2, mode="CRD"))
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(extra)
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    return m


def tensors_to_quantise(g):
    """The graph input, every activation in QUANTISED_ACTIVATIONS and every up-convolution's 1x1 output."""
    names = [g.input[0].name]
    for n in g.node:
        if n.op_type in QUANTISED_ACTIVATIONS or (n.op_type == "Conv" and n.output[0].endswith("_1x1")):
            names.append(n.output[0])
    return names


def calibration_slices(n_patients=12, per_patient=4, seed=0):
    import analyse_brain_choices as A
    held = set(A.read_ids(B.SPLIT)) | set(A.read_ids(A.TEST_SPLIT))
    pats = sorted(d for d in os.listdir(B.DATA) if os.path.isdir(os.path.join(B.DATA, d)) and d not in held)
    rng = np.random.RandomState(seed)
    pick = [pats[i] for i in sorted(rng.choice(len(pats), n_patients, replace=False))]
    data = A.load_some(pick)
    out = []
    for k in pick:
        vol = data[k][0]
        out += [vol[z] for z in rng.choice(len(vol), per_patient, replace=False)]
    return np.stack(out).astype(np.float32), pick


def mse_ranges(ranges, names, samples):
    """Per tensor, the clipped range (a fraction f of the full one, f in 0.2..1) whose uint8 quantise-dequantise error
    (mean squared, over the sampled values) is smallest."""
    out = {}
    for name, v in zip(names, samples):
        lo0, hi0 = min(0.0, ranges[name]["min"]), max(0.0, ranges[name]["max"])
        best = None
        for f in np.linspace(0.2, 1.0, 41):
            lo, hi = lo0 * f, hi0 * f
            scale = max((hi - lo) / 255.0, 1e-8)
            zp = min(255, max(0, int(round(-lo / scale))))
            q = np.clip(np.round(v / scale) + zp, 0, 255)
            err = float(np.mean(((q - zp) * scale - v) ** 2))
            if best is None or err < best[0]:
                best = (err, lo, hi)
        out[name] = {"min": best[1], "max": best[2]}
    return out


def activation_ranges(m, names, slices, work, clip="minmax"):
    cal = onnx.ModelProto()
    cal.CopyFrom(m)
    for nm in names[1:]:
        cal.graph.output.append(helper.make_tensor_value_info(nm, TensorProto.FLOAT, None))
    gp, sp, rp = (os.path.join(work, f) for f in ("calibration.onnx", "slices.f32", "ranges.json"))
    onnx.save(cal, gp)
    slices.tofile(sp)
    env = dict(os.environ, SAMPLE_PER_RUN="2000" if clip == "mse" else "0")
    subprocess.run(["node", os.path.join(HERE, "activation_ranges.mjs"), gp, sp, str(SIDE), rp], check=True, env=env)
    ranges = json.load(open(rp))
    if clip == "mse":
        order = json.load(open(rp + ".names.json"))
        samples = np.fromfile(rp + ".samples.f32", np.float32).reshape(len(order), -1)
        ranges = mse_ranges(ranges, order, samples)
    return ranges


def quantise(m, ranges):
    g = m.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    targets = tensors_to_quantise(g)
    qset = set(targets)
    params, new_inits = {}, []

    def init(name, arr):
        new_inits.append(numpy_helper.from_array(arr, name))
        return name

    for t in targets:
        p = producer.get(t)
        if p is not None and p.op_type in ("MaxPool", "DepthToSpace"):
            params[t] = params[p.input[0]]  # same scale as the input: onnxruntime then runs the op on uint8
            continue
        lo, hi = min(0.0, ranges[t]["min"]), max(0.0, ranges[t]["max"])
        scale = max((hi - lo) / 255.0, 1e-8)
        params[t] = (np.float32(scale), np.uint8(min(255, max(0, int(round(-lo / scale))))))

    def qdq(t):
        s, z = params[t]
        sn, zn = init(t + "_scale", np.array(s, np.float32)), init(t + "_zero", np.array(z, np.uint8))
        return [helper.make_node("QuantizeLinear", [t, sn, zn], [t + "_q"]),
                helper.make_node("DequantizeLinear", [t + "_q", sn, zn], [t + "_dq"])]

    body = qdq(g.input[0].name)
    for n in g.node:
        ins = [(i + "_dq" if i in qset else i) for i in n.input]
        if n.op_type == "Conv" and n.input[0] in qset:
            w, xs = inits[n.input[1]], params[n.input[0]][0]
            ws = np.maximum(np.abs(w).reshape(w.shape[0], -1).max(1), 1e-12) / 127.0
            wq = np.clip(np.round(w / ws[:, None, None, None]), -127, 127).astype(np.int8)
            wn = n.input[1]
            body.append(helper.make_node("DequantizeLinear", [init(wn + "_int8", wq), init(wn + "_scale", ws.astype(np.float32)),
                                                              init(wn + "_zero", np.zeros(len(ws), np.int8))], [wn + "_dq"], axis=0))
            ins[1] = wn + "_dq"
            if len(n.input) > 2:
                bs = (xs * ws).astype(np.float32)
                bn = n.input[2]
                bq = np.round(inits[bn] / bs).astype(np.int32)
                body.append(helper.make_node("DequantizeLinear", [init(bn + "_int32", bq), init(bn + "_scale", bs),
                                                                  init(bn + "_zero", np.zeros(len(bs), np.int32))], [bn + "_dq"], axis=0))
                ins[2] = bn + "_dq"
        n2 = helper.make_node(n.op_type, ins, list(n.output), name=n.name)
        n2.attribute.extend(n.attribute)
        body.append(n2)
        for o in n.output:
            if o in qset:
                body += qdq(o)
    used = {i for n in body for i in n.input}
    keep = [i for i in list(g.initializer) + new_inits if i.name in used]
    del g.node[:]
    g.node.extend(body)
    del g.initializer[:]
    g.initializer.extend(keep)
    onnx.checker.check_model(m)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    members_dir = os.path.join(C.MODELS_DIR, B.MODEL_ID, "members")
    ap.add_argument("--members", nargs="+", default=[os.path.join(members_dir, "member%d.pt" % i) for i in range(3)])
    ap.add_argument("--out", default=os.path.join(C.MODELS_DIR, B.MODEL_ID, "model.onnx"))
    ap.add_argument("--clip", choices=("minmax", "mse"), default="mse",
                    help="activation ranges: the full range seen, or the clipped one with the least squared error")
    args = ap.parse_args()
    C.setup_torch(2)
    with open(os.path.join(C.MODELS_DIR, B.MODEL_ID, "manifest.json")) as f:
        manifest = json.load(f)
    with tempfile.TemporaryDirectory() as work:
        m = upconv_as_depth_to_space(float_graph(args.members, os.path.join(work, "float.onnx"), manifest))
        slices, pats = calibration_slices()
        print("calibration: %d slices of %d training patients (%s ...)" % (len(slices), len(pats), pats[0]))
        ranges = activation_ranges(m, tensors_to_quantise(m.graph), slices, work, args.clip)
        q = quantise(m, ranges)
        tmp = args.out + ".tmp"
        onnx.save(q, tmp)
        os.replace(tmp, args.out)
    print("wrote %s (%.2f MB)" % (args.out, os.path.getsize(args.out) / 1e6))


if __name__ == "__main__":
    main()
