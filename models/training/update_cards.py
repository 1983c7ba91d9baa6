#!/usr/bin/env python3
"""Fill the "Python training-time validation" block of every models/<id>/README.md from models/<id>/manifest.json.

The block lies between the markers <!-- metrics:start --> and <!-- metrics:end -->. Called automatically after
each export (run_training) and safe to run by hand:  /usr/bin/python3 models/training/update_cards.py
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.environ.get("DELINEATE_SCRATCH") or os.path.dirname(HERE)
START, END = "<!-- metrics:start -->", "<!-- metrics:end -->"


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.4f" % v
    return str(v)


def block(man):
    tr = man.get("training", {})
    val = tr.get("validation", {})
    fin, base = val.get("final") or {}, val.get("baseline") or {}
    steps = tr.get("steps", 0)
    bstep = base.get("step") if isinstance(base.get("step"), int) else max(1, int(round(0.2 * steps)))
    head = ("| metric | %s | shipped |" % val["baseline_label"] if val.get("baseline_label") else
            "| metric | baseline (step %s, ~20%% of the schedule) | shipped (step %s) |" % (bstep, steps))
    lines = ["%s." % val.get("source", "Python training-time validation"), "", head, "|---|---|---|"]
    for k in fin:
        if k == "step":
            continue
        lines.append("| %s | %s | %s |" % (k, fmt(base.get(k)), fmt(fin.get(k))))
    lines += ["", "Training steps: %s; training time: %.1f min of CPU wall time (2 cores, excluding validation)."
              % (steps, tr.get("seconds", 0) / 60.0)]
    if tr.get("ensemble"):
        lines.append("Ensemble: %s; members: %s." % (tr["ensemble"], "; ".join(
            "seed %s, %s steps, alone %s (flip + largest lesion)" % (m.get("seed"), m.get("steps"),
                                                                    fmt(m.get("dice_mean_tta_largest")))
            for m in tr.get("members", []))))
    if val.get("postprocessing"):
        lines.append("Post-processing variants: %s." % val["postprocessing"])
    lines.append("App-side `npm run eval` figures: see \"Evaluation through the app\" below.")
    return "\n".join(lines)


def update(model_id):
    d = os.path.join(MODELS, model_id)
    man_p, card_p = os.path.join(d, "manifest.json"), os.path.join(d, "README.md")
    if not (os.path.exists(man_p) and os.path.exists(card_p)):
        return False
    man = json.load(open(man_p))
    card = open(card_p).read()
    if START not in card or END not in card:
        return False
    a, b = card.index(START) + len(START), card.index(END)
    card = card[:a] + "\n" + block(man) + "\n" + card[b:]
    with open(card_p, "w") as f:
        f.write(card)
    return True


def main(ids=None):
    ids = ids or ["brain-flair-lgg", "landcover-deepglobe", "buildings-joplin"]
    for i in ids:
        print(i, "updated" if update(i) else "skipped (no manifest/card yet)")


if __name__ == "__main__":
    main(sys.argv[1:])
