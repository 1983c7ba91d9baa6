#!/usr/bin/env python3
"""Train `brain-flair-lgg`: 2D U-Net on single-channel FLAIR slices, sigmoid output (tumor / FLAIR abnormality).

Data: /work/shared/data/tumor-lgg-flair/<patient>/NNN_image.png + NNN_mask.png (read in place, never copied).
Input: one slice (the shipped model), or with `--context k` the slice and its k neighbours on each side as channels
(z-k..z+k, clamped at the ends of the stack), which the app feeds from the manifest's `input.contextSlices`.
Normalisation (per volume): lo, hi = 1st / 99th percentile (numpy linear interpolation) of the patient's
nonzero voxels; x = clip((v - lo) / (hi - lo), 0, 2). Invariant to scaling the raw values (e.g. x16 for 12 bit).
"""
import argparse
import glob
import json
import os
import random
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

MODEL_ID = "brain-flair-lgg"
DATA = os.path.join(C.DATA_ROOT, "tumor-lgg-flair")
SPLIT = os.path.join(C.HERE, "splits", "brain_val.txt")
CLIP = (0.0, 2.0)
N_VAL = 16
MIN_CC = 100  # voxels; 3D post-processing: drop connected components smaller than this
CONTEXT = 0   # neighbour slices on each side fed as extra channels (2 * CONTEXT + 1 input channels); --context
IN_CH = 2 * CONTEXT + 1


def set_context(k):
    global CONTEXT, IN_CH
    CONTEXT, IN_CH = k, 2 * k + 1


def context_index(n, context=None):
    """(n, 2*context+1) slice indices of each slice's stack z-context..z+context, clamped to 0..n-1."""
    context = CONTEXT if context is None else context
    z = np.arange(n)[:, None] + np.arange(-context, context + 1)[None, :]
    return np.clip(z, 0, n - 1)


def normalise_volume(vol):
    """vol: (S, H, W) raw values (any scale). Returns float32 normalised volume."""
    nz = vol[vol > 0]
    if nz.size == 0:
        return np.zeros(vol.shape, np.float32)
    lo, hi = np.percentile(nz.astype(np.float64), [1, 99])
    if hi <= lo:
        hi = lo + 1
    return np.clip((vol.astype(np.float32) - lo) / (hi - lo), *CLIP).astype(np.float32)


def load_patients():
    pats = sorted(d for d in os.listdir(DATA) if os.path.isdir(os.path.join(DATA, d)))
    out = {}
    for p in pats:
        files = glob.glob(os.path.join(DATA, p, "*_image.png"))
        idx = sorted(int(os.path.basename(f).split("_")[0]) for f in files)
        img = np.stack([np.array(Image.open(os.path.join(DATA, p, "%03d_image.png" % i))) for i in idx])
        msk = np.stack([np.array(Image.open(os.path.join(DATA, p, "%03d_mask.png" % i))) > 0 for i in idx])
        out[p] = (normalise_volume(img), msk.astype(np.uint8))
    return out


def val_patients(all_pats):
    if os.path.exists(SPLIT):
        with open(SPLIT) as f:
            return [l.strip() for l in f if l.strip() and not l.startswith("#")]
    val = sorted(random.Random(1234).sample(sorted(all_pats), N_VAL))
    with open(SPLIT, "w") as f:
        f.write("# brain-flair-lgg validation patients (random.Random(1234).sample of the 90 sorted folders, n=%d)\n" % N_VAL)
        f.write("\n".join(val) + "\n")
    return val


def dice(a, b):
    sa, sb = a.sum(), b.sum()
    if sa + sb == 0:
        return 1.0
    return float(2.0 * np.logical_and(a, b).sum() / (sa + sb))


def postprocess(pred, mode):
    if mode == "raw" or not pred.any():
        return pred
    lab, n = ndimage.label(pred, structure=np.ones((3, 3, 3)))
    sizes = ndimage.sum(pred, lab, index=np.arange(1, n + 1))
    if mode == "largest":
        keep = np.zeros(n + 1, bool)
        keep[1 + int(np.argmax(sizes))] = True
    else:  # min-size
        keep = np.concatenate([[False], sizes >= MIN_CC])
    return keep[lab]


@torch.no_grad()
def predict_volume(net, vol, bs=16, context=None):
    """Probability volume of a model reading `context` neighbours on each side (default: this run's --context)."""
    ctx = context_index(len(vol), context)
    probs = []
    for i in range(0, len(vol), bs):
        x = C.to_cl(torch.from_numpy(np.ascontiguousarray(vol[ctx[i:i + bs]])))
        probs.append(torch.sigmoid(net(x))[:, 0].numpy())
    return np.concatenate(probs)


def load_resume_net(path):
    """A compact resume point (resume.pt format) as an eval-mode U-Net; returns (net, context slices, the point)."""
    s = torch.load(path, map_location="cpu")
    if s.get("model_id") != MODEL_ID:
        raise SystemExit("%s: not a %s resume point" % (path, MODEL_ID))
    in_ch = int(s["weights_fp16"]["enc.0.0.weight"].shape[1])
    net = C.UNet(in_ch, 1, (16, 32, 64, 128, 192)).to(memory_format=torch.channels_last)
    C.load_fp16_state(net, s["weights_fp16"])
    return net.eval(), (in_ch - 1) // 2, s


def validation_metrics(predict, data, val):
    """Per-patient volumetric Dice over the validation patients; predict(vol) -> probability volume."""
    res = {"raw": [], "mincc": [], "largest": [], "tta_raw": [], "tta_largest": []}
    for k in val:
        vol, gt = data[k]
        prob = predict(vol)
        pred = prob > 0.5
        gt = gt.astype(bool)
        for mode, key in (("raw", "raw"), ("min", "mincc"), ("largest", "largest")):
            res[key].append(dice(postprocess(pred, mode), gt))
        # What the shipped manifest asks the app to do: average with the left-right mirrored run, then keep
        # the largest 3D component (testTimeFlips ["x"], postprocess.keepLargestComponents 1).
        prob_tta = 0.5 * (prob + predict(np.ascontiguousarray(vol[:, :, ::-1]))[:, :, ::-1])
        res["tta_raw"].append(dice(prob_tta > 0.5, gt))
        res["tta_largest"].append(dice(postprocess(prob_tta > 0.5, "largest"), gt))
    m = {}
    for key, v in res.items():
        m["dice_mean_" + key] = float(np.mean(v))
        m["dice_median_" + key] = float(np.median(v))
    m["per_patient_raw"] = dict(zip(val, [round(v, 4) for v in res["raw"]]))
    m["per_patient_mincc"] = dict(zip(val, [round(v, 4) for v in res["mincc"]]))
    m["per_patient_tta_largest"] = dict(zip(val, [round(v, 4) for v in res["tta_largest"]]))
    return m


def make_manifest(n_train, n_val, steps, seconds, metrics, baseline, **training):
    """The shipped manifest (also embedded in the ONNX); `training` adds or replaces fields of its training block."""
    return {
        "id": MODEL_ID,
        "name": "Brain FLAIR abnormality (lower-grade glioma)",
        "version": "1.0.0",
        "task": "semantic",
        "kinds": ["medical", "image"],
        "modality": "MR FLAIR",
        "file": "model.onnx",
        "input": {"name": "input", "channels": ["FLAIR"], "layout": "NCHW", "dtype": "float32", "sliceMode": "2d",
                  **({"contextSlices": CONTEXT} if CONTEXT else {})},
        "normalization": {"type": "percentile", "pLow": 1, "pHigh": 99, "scope": "volume", "mask": "nonzero",
                          "clip": list(CLIP)},
        "tileSize": [256, 256],
        "tileOverlap": 0.5,
        "resolution": {"mmPerPx": None, "mPerPx": None},
        "testTimeFlips": ["x"],
        "postprocess": {"keepLargestComponents": 1},
        "classes": [{"name": "FLAIR abnormality", "color": "#ff3b30"}],
        "outputs": {"name": "output", "type": "sigmoid", "threshold": 0.5, "backgroundChannel": False,
                    "classChannels": [0], "boundaryChannel": None, "distanceChannel": None},
        "license": "CC-BY-NC-SA-4.0 (training data; research use)",
        "card": "README.md",
        "training": {
            "data": "tumor-lgg-flair (TCGA-LGG FLAIR, Buda et al. 2019; %d train / %d validation patients, split by patient: models/training/splits/brain_val.txt)" % (n_train, n_val),
            "steps": int(steps),
            "seconds": int(round(seconds)),
            "validation": {
                "source": "Python training-time validation (per-patient volumetric Dice, threshold 0.5, EMA weights)",
                "patients": n_val,
                "final": C.pick_floats(metrics),
                "baseline": C.pick_floats(baseline),
                "postprocessing": ("mincc = drop 3D 26-connected components < %d voxels; largest = keep largest 3D "
                                   "component; tta = mean with the left-right mirrored prediction (what the "
                                   "manifest asks the app to do: tta_largest)" % MIN_CC),
            },
            **training,
        },
    }


DEEPNESS = dict(class_names=["background", "FLAIR abnormality"], tile=256, overlap_frac=0.5, seg_thresh=0.5)


def main():
    p = C.add_common_args(argparse.ArgumentParser(description=__doc__), steps=2000, batch=16, lr=2e-3,
                          eval_every=400)
    p.add_argument("--init-2d", metavar="RESUME_PT",
                   help="fresh run only: start from a single-slice model's weights (e.g. an earlier "
                        "models/brain-flair-lgg/resume.pt); its first convolution reads the centre slice, "
                        "the neighbour channels start at zero, so training begins at the 2D model's quality")
    p.add_argument("--context", type=int, default=0, choices=(0, 1, 2),
                   help="neighbour slices on each side as extra input channels (0: single slice, as shipped)")
    args = p.parse_args()
    set_context(args.context)
    log = C.Logger(C.log_path("brain.log"))
    data = load_patients()
    val = val_patients(data.keys())
    train = [k for k in sorted(data) if k not in val]
    log("brain data: %d patients (%d train / %d val), %d slices" %
        (len(data), len(train), len(val), sum(len(v[0]) for v in data.values())))
    X = np.concatenate([data[k][0] for k in train])
    Y = np.concatenate([data[k][1] for k in train])
    # global slice index of each training slice's context stack (never crossing into another patient)
    starts = np.cumsum([0] + [len(data[k][0]) for k in train])
    CTX = np.concatenate([s0 + context_index(len(data[k][0])) for s0, k in zip(starts, train)])
    tumor_idx = np.nonzero(Y.reshape(len(Y), -1).any(1))[0]
    log("train slices %d, with tumor %d" % (len(X), len(tumor_idx)))
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

    def sample_batch(step, bs):
        nt = bs // 2
        idx = np.concatenate([tumor_idx[torch.randint(len(tumor_idx), (nt,)).numpy()],
                              torch.randint(len(X), (bs - nt,)).numpy()])
        x = Xt[torch.from_numpy(CTX[idx])].clone()  # (bs, IN_CH, H, W)
        if CONTEXT:
            # One sample in ten sees its own slice as every neighbour, as a single 2D picture gives it to the app.
            alone = torch.rand(bs) < 0.1
            x[alone] = x[alone][:, CONTEXT:CONTEXT + 1].expand(-1, IN_CH, -1, -1)
        y = Yt[idx][:, None].float()
        theta = C.random_affine(bs, rot_deg=15, scale=(0.88, 1.12), shift=0.05, hflip=True)
        x = C.warp(x, theta)
        y = (C.warp(y, theta) > 0.5).float()
        # intensity: gamma + scale (p=0.8)
        on = (torch.rand(bs, 1, 1, 1) < 0.8).float()
        g = torch.exp(torch.empty(bs, 1, 1, 1).uniform_(-0.35, 0.35) * on)
        s = 1 + torch.empty(bs, 1, 1, 1).uniform_(-0.12, 0.12) * on
        x = (x.clamp(min=0) ** g) * s
        x = x + torch.randn_like(x) * 0.02 * on * (x > 0)
        return x.clamp(*CLIP), y

    def loss_fn(logits, y):
        return F.binary_cross_entropy_with_logits(logits, y) + C.soft_dice_loss(torch.sigmoid(logits), y)

    def evaluate(net):
        return validation_metrics(lambda vol: predict_volume(net, vol), data, val)

    def export(net, state, metrics):
        manifest = make_manifest(len(train), len(val), state["step"], state["seconds"], metrics, state["baseline"])
        C.export_onnx(net, IN_CH, "sigmoid", os.path.join(C.MODELS_DIR, MODEL_ID, "model.onnx"), manifest,
                      C.deepness_meta(**DEEPNESS))
        C.write_manifest(MODEL_ID, manifest)
        with open(C.log_path("brain_val_metrics.json"), "w") as f:
            json.dump({"final": metrics, "baseline": state["baseline"],
                       "history": [{k: v for k, v in h.items() if not isinstance(v, dict)} for h in state["history"]]},
                      f, indent=1)

    def warm_start(net):
        if not args.init_2d:
            return None
        s = torch.load(args.init_2d, map_location="cpu")
        sd = {k: (v.float() if v.dtype.is_floating_point else v) for k, v in s["weights_fp16"].items()}
        w = sd["enc.0.0.weight"]  # (16, 1, 3, 3): first convolution of the single-slice model
        if w.shape[1] != 1:
            raise SystemExit("--init-2d: %s is not a single-slice model (first conv has %d inputs)" % (args.init_2d, w.shape[1]))
        w3 = torch.zeros(w.shape[0], IN_CH, *w.shape[2:])
        w3[:, CONTEXT] = w[:, 0]
        sd["enc.0.0.weight"] = w3
        net.load_state_dict(sd)
        return "single-slice model %s (step %d), centre channel = its first convolution, neighbours 0" % (
            os.path.relpath(args.init_2d, C.WORK_DIR), s["step"])

    C.run_training(MODEL_ID, args, lambda: C.UNet(IN_CH, 1, (16, 32, 64, 128, 192)), sample_batch, loss_fn,
                   evaluate, export, log, "dice_mean_raw", warm_start)


if __name__ == "__main__":
    main()
