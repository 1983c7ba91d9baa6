#!/usr/bin/env python3
"""Ship brain-flair-lgg as the mean of several independently trained single-slice U-Nets, in one ONNX graph.

Each member is a compact resume point written by train_brain.py (`models/brain-flair-lgg/resume.pt` format). The
graph computes every member's sigmoid and averages the probabilities, so the app runs it like any other sigmoid
model (its test-time flip and largest-lesion step apply to the average). Weights are stored as float16 (computed in
float32) so two members stay under the 10 MB model budget.

  /usr/bin/python3 models/training/export_brain_ensemble.py --check A.pt B.pt   # validation figures only
  /usr/bin/python3 models/training/export_brain_ensemble.py A.pt B.pt           # + models/brain-flair-lgg/*

Writes model.onnx, manifest.json (training.members lists each member's seed, steps and own figures) and the card's
metrics block; the member resume points are copied to models/brain-flair-lgg/members/ so the export can be redone.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import train_brain as B  # noqa: E402


class MeanOfSigmoids(nn.Module):
    def __init__(self, nets):
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, x):
        return torch.stack([torch.sigmoid(n(x)) for n in self.nets]).mean(0)


def load_member(path):
    net, context, s = B.load_resume_net(path)
    if context:
        raise SystemExit("%s: reads %d slices; ensemble members must be single-slice models" % (path, 2 * context + 1))
    return net, s


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("members", nargs="+", help="resume points of the member models")
    p.add_argument("--check", action="store_true", help="print the validation figures, write nothing")
    args = p.parse_args()
    if len(args.members) < 2:
        raise SystemExit("an ensemble needs at least two members")
    C.setup_torch(2)
    loaded = [load_member(m) for m in args.members]
    data = B.load_patients()
    val = B.val_patients(list(data))
    train = [k for k in sorted(data) if k not in val]
    members, member_metrics = [], []
    for path, (net, s) in zip(args.members, loaded):
        m = B.validation_metrics(lambda vol, net=net: B.predict_volume(net, vol, context=0), data, val)
        members.append({"seed": s.get("sched", {}).get("seed"), "steps": int(s["step"]),
                        "seconds": int(round(s.get("sched", {}).get("seconds", 0))),
                        "dice_mean_tta_largest": round(m["dice_mean_tta_largest"], 4),
                        "dice_mean_raw": round(m["dice_mean_raw"], 4)})
        member_metrics.append(m)
        print("member %s (seed %s, step %d): %s" % (path, members[-1]["seed"], s["step"],
              " ".join("%s=%.4f" % (k, v) for k, v in m.items() if isinstance(v, float))), flush=True)
    # The exported graph's arithmetic: the mean of the members' probabilities.
    metrics = B.validation_metrics(
        lambda vol: np.mean([B.predict_volume(n, vol, context=0) for n, _ in loaded], 0), data, val)
    print("ensemble of %d: %s" % (len(loaded), " ".join("%s=%.4f" % (k, v) for k, v in metrics.items()
                                                          if isinstance(v, float))))
    print("per patient (flip + largest lesion):", json.dumps(metrics["per_patient_tta_largest"]))
    if args.check:
        return
    out_dir = os.path.join(C.MODELS_DIR, B.MODEL_ID)
    os.makedirs(os.path.join(out_dir, "members"), exist_ok=True)
    copies = []
    for i, path in enumerate(args.members):
        dst = os.path.join(out_dir, "members", "member%d.pt" % i)
        if os.path.abspath(path) != os.path.abspath(dst):
            shutil.copyfile(path, dst)
        copies.append(os.path.relpath(dst, os.path.dirname(C.MODELS_DIR)))
    # The card's baseline is the first member alone: the single model the ensemble improves on.
    first = loaded[0][1]
    baseline = member_metrics[0]
    manifest = B.make_manifest(
        len(train), len(val), sum(m["steps"] for m in members), sum(m["seconds"] for m in members), metrics, baseline,
        ensemble=("mean of the sigmoid outputs of %d single-slice U-Nets trained with different seeds; weights "
                  "stored as float16" % len(members)),
        members=[dict(m, resume=c) for m, c in zip(members, copies)])
    manifest["training"]["validation"]["source"] = (
        "Python validation (per-patient volumetric Dice, threshold 0.5, EMA weights); baseline = member 0 alone "
        "(seed %s, step %d)" % (first.get("sched", {}).get("seed"), first["step"]))
    manifest["training"]["validation"]["baseline_label"] = "member 0 alone (step %d)" % first["step"]
    ens = MeanOfSigmoids([n for n, _ in loaded]).eval()
    C.export_onnx(ens, 1, "none", os.path.join(out_dir, "model.onnx"), manifest, C.deepness_meta(**B.DEEPNESS),
                  fp16_weights=True)
    C.write_manifest(B.MODEL_ID, manifest)
    with open(C.log_path("brain_val_metrics.json"), "w") as f:
        json.dump({"final": metrics, "baseline": baseline, "members": members}, f, indent=1)
    import update_cards
    update_cards.main([B.MODEL_ID])
    print("exported %s (%.2f MB)" % (os.path.join(out_dir, "model.onnx"),
                                     os.path.getsize(os.path.join(out_dir, "model.onnx")) / 1e6))


if __name__ == "__main__":
    main()
