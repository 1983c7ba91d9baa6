#!/usr/bin/env python3
"""Ship one single-slice U-Net (a member or a distilled student) as brain-flair-lgg's model.onnx.

The ensemble (export_brain_ensemble.py) runs three U-Nets per slice, twice with the flip: too slow for 3 s per
22-slice volume. analyse_brain_choices.py chose the network, the flip and the clean-up rule on the validation
patients outside the test split; this script writes that network (sigmoid inside the graph, float16 weights) with
the manifest.json as it stands embedded in the ONNX, so the two copies agree. It changes no manifest field: edit
manifest.json first (testTimeFlips, postprocess, training notes), then export.

  /usr/bin/python3 models/training/export_brain_single.py models/brain-flair-lgg/members/member1.pt
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import train_brain as B  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights", help="resume point of the network to ship (single-slice)")
    args = p.parse_args()
    C.setup_torch(2)
    net, context, s = B.load_resume_net(args.weights)
    if context:
        raise SystemExit("%s reads %d slices; the shipped model is single-slice" % (args.weights, 2 * context + 1))
    out_dir = os.path.join(C.MODELS_DIR, B.MODEL_ID)
    with open(os.path.join(out_dir, "manifest.json")) as f:
        manifest = json.load(f)
    path = os.path.join(out_dir, "model.onnx")
    C.export_onnx(net, 1, "sigmoid", path, manifest, C.deepness_meta(**B.DEEPNESS), fp16_weights=True)
    print("exported %s (%.2f MB) from %s (step %d)" % (path, os.path.getsize(path) / 1e6, args.weights, s["step"]))


if __name__ == "__main__":
    main()
