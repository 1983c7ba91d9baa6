#!/usr/bin/env python3
"""Distil brain-flair-lgg's 3-model ensemble (1.0.0: mean of three U-Nets, each with the left-right flip) into one
single-slice U-Net of the same shape, so the app runs one network per slice instead of six.

Teacher: mean over the members in models/brain-flair-lgg/members/ of 0.5 * (sigmoid(net(x)) + mirrored run), i.e.
exactly 1.0.0's graph with its test-time flip (run under bf16 autocast). Its probabilities are computed once for
the training slices that hold an expert-outlined lesion (the 74 training patients only; never a validation or test
patient) and cached as uint8 (p x 255) under checkpoints/brain-flair-lgg-distil/ (git-ignored); the other slices
train on the expert mask alone (six network runs over all 2748 slices did not fit the shared CPU's time).
Student: the same U-Net, initialised from one member (default member 1, the network shipped in 1.1.0), trained on
augmented slices with loss = BCE + soft Dice against the blend alpha * teacher + (1 - alpha) * expert mask (the
geometric augmentation is applied to the image and both targets alike). Compact resume points of the EMA weights
are written every --save-every steps as checkpoints/brain-flair-lgg-distil/student_sNNNN.pt (step 0 = the initial
member), compared on the validation patients outside the test split with
  analyse_brain_choices.py --no-student-flip checkpoints/brain-flair-lgg-distil/student_s0100.pt ...
and shipped with export_brain_single.py.

  nohup setsid nice -n 10 /usr/bin/python3 models/training/distil_brain.py --steps 300 --warmup 30 --save-every 50 \
      > models/training/logs/brain_distil_run.out 2>&1 < /dev/null &
"""
import argparse
import glob
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402
import train_brain as B  # noqa: E402

OUT = os.path.join(C.WORK_DIR, "checkpoints", B.MODEL_ID + "-distil")
MEMBERS = sorted(glob.glob(os.path.join(C.MODELS_DIR, B.MODEL_ID, "members", "member*.pt")))


@torch.no_grad()
def predict_bf16(net, vol, bs=16):
    """Probability volume of a single-slice network, computed under bf16 autocast (sigmoid in float32)."""
    out = []
    for i in range(0, len(vol), bs):
        x = C.to_cl(torch.from_numpy(np.ascontiguousarray(vol[i:i + bs, None])))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = net(x)
        out.append(torch.sigmoid(logits.float())[:, 0].numpy())
    return np.concatenate(out)


def teacher_probs(train, data, log, every_slice=False):
    """(uint8 teacher probability p x 255, bool has-teacher) of every training slice, in the order of `train`.

    Only the slices with an expert-outlined lesion get the teacher (the shared 2-core machine cannot run six
    networks over all 2748 slices in the time this run has); the other slices train on the expert mask alone.
    Cached per patient; a cache file holding every slice of a patient (an earlier full run) is used whole.
    The teacher runs under bf16 autocast, as training does (the targets are stored with 1/255 steps anyway)."""
    os.makedirs(OUT, exist_ok=True)
    nets = None
    probs, has = [], []
    t0 = time.time()
    for k in train:
        vol, gt = data[k]
        full = os.path.join(OUT, "teacher_%s.npy" % k)
        part = os.path.join(OUT, "teacher_tumour_%s.npz" % k)
        if os.path.exists(full):
            probs.append(np.load(full))
            has.append(np.ones(len(vol), bool))
            continue
        if os.path.exists(part) and not every_slice:
            z = np.load(part)
            probs.append(z["p"])
            has.append(z["has"])
            continue
        if nets is None:
            nets = [B.load_resume_net(m)[0] for m in MEMBERS]
            log("teacher: mean of %d members with the left-right flip: %s" % (
                len(nets), ", ".join(os.path.relpath(m, C.MODELS_DIR) for m in MEMBERS)))
        sel = np.ones(len(gt), bool) if every_slice else gt.reshape(len(gt), -1).any(1)
        q = np.zeros(vol.shape, np.uint8)
        if sel.any():
            sub = np.ascontiguousarray(vol[sel])
            mirrored = np.ascontiguousarray(sub[:, :, ::-1])
            p = np.mean([0.5 * (predict_bf16(n, sub) + predict_bf16(n, mirrored)[:, :, ::-1]) for n in nets], 0)
            q[sel] = np.round(np.clip(p, 0, 1) * 255).astype(np.uint8)
        if every_slice:
            np.save(full + ".tmp.npy", q)
            os.replace(full + ".tmp.npy", full)
        else:
            np.savez(part + ".tmp.npz", p=q, has=sel)
            os.replace(part + ".tmp.npz", part)
        probs.append(q)
        has.append(sel)
        log("teacher %s: %d of %d slices (%.0fs so far)" % (k, int(sel.sum()), len(vol), time.time() - t0))
    return np.concatenate(probs), np.concatenate(has)


def save_student(ema_model, step, args, seconds):
    sd = {k: (v.half() if v.dtype.is_floating_point else v) for k, v in ema_model.state_dict().items()}
    obj = {"format": "delineate-resume-v1", "model_id": B.MODEL_ID, "step": step,
           "sched": {"total": args.steps, "base_lr": args.lr, "seconds": seconds, "seed": args.seed,
                     "batch": args.batch, "alpha": args.alpha, "init": args.init},
           "weights_fp16": sd,
           "extra": {"distilled": "student of the 3-member mean with flip; loss BCE + soft Dice vs %.2f teacher + "
                                  "%.2f truth" % (args.alpha, 1 - args.alpha)}}
    path = os.path.join(OUT, "student_s%04d.pt" % step)
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-4, help="peak learning rate (fine-tuning from a member)")
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--alpha", type=float, default=0.5, help="weight of the teacher in the target blend")
    p.add_argument("--init", default=os.path.join(C.MODELS_DIR, B.MODEL_ID, "members", "member1.pt"))
    p.add_argument("--seed", type=int, default=20261205)
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--teacher-every-slice", action="store_true",
                   help="run the teacher on every training slice (not only those with a lesion), so the student also "
                        "learns the ensemble's lower confidence on false-positive blobs in lesion-free slices")
    p.add_argument("--resume", action="store_true", help="continue from checkpoints/brain-flair-lgg-distil/full.pt")
    args = p.parse_args()
    C.setup_torch(args.threads)
    C.set_seed(args.seed)
    log = C.Logger(C.log_path("brain_distil.log"))
    data = B.load_patients()
    val = B.val_patients(list(data))
    train = [k for k in sorted(data) if k not in val]
    if set(train) & set(val):
        raise SystemExit("training and validation patients overlap")
    log("distil: %d training patients (validation %d never seen), alpha %.2f, lr %g, steps %d, init %s" % (
        len(train), len(val), args.alpha, args.lr, args.steps, os.path.relpath(args.init, C.MODELS_DIR)))
    T, HAS = teacher_probs(train, data, log, args.teacher_every_slice)
    X = np.concatenate([data[k][0] for k in train])
    Y = np.concatenate([data[k][1] for k in train])
    assert len(T) == len(X) == len(Y)
    tumor_idx = np.nonzero(Y.reshape(len(Y), -1).any(1))[0]
    agree = float(((T[HAS] > 127) == (Y[HAS] > 0)).mean())
    log("train slices %d (with tumor %d, with teacher %d); teacher vs truth pixel agreement there %.4f" % (
        len(X), len(tumor_idx), int(HAS.sum()), agree))
    Xt, Yt, Tt = torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(T)
    Ht = torch.from_numpy(HAS)

    net, _, s = B.load_resume_net(args.init)
    net.train()
    ema = C.EMA(net)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    step, seconds = 0, 0.0
    full = os.path.join(OUT, "full.pt")
    if args.resume and os.path.exists(full):
        st = torch.load(full, map_location="cpu")
        net.load_state_dict(st["model"])
        ema.model.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])
        C.set_rng_state(st["rng"])
        step, seconds = st["step"], st["seconds"]
        log("resumed at step %d" % step)
    elif step == 0:
        save_student(ema.model, 0, args, 0.0)  # step 0 = the initial member, the reference on validation

    def sample_batch(bs):
        nt = bs // 2
        idx = np.concatenate([tumor_idx[torch.randint(len(tumor_idx), (nt,)).numpy()],
                              torch.randint(len(X), (bs - nt,)).numpy()])
        it = torch.from_numpy(idx)
        x = Xt[it][:, None].clone()
        y = Yt[it][:, None].float()
        # where a slice has no teacher, the target is the expert mask alone
        a = args.alpha * Ht[it].float()[:, None, None, None]
        t = Tt[it][:, None].float() / 255.0
        theta = C.random_affine(bs, rot_deg=15, scale=(0.88, 1.12), shift=0.05, hflip=True)
        x = C.warp(x, theta)
        y = (C.warp(y, theta) > 0.5).float()
        t = C.warp(t, theta).clamp(0, 1)
        on = (torch.rand(bs, 1, 1, 1) < 0.8).float()
        g = torch.exp(torch.empty(bs, 1, 1, 1).uniform_(-0.35, 0.35) * on)
        sc = 1 + torch.empty(bs, 1, 1, 1).uniform_(-0.12, 0.12) * on
        x = (x.clamp(min=0) ** g) * sc
        x = x + torch.randn_like(x) * 0.02 * on * (x > 0)
        return x.clamp(*B.CLIP), a * t + (1 - a) * y

    l_acc, t_acc, n_acc = 0.0, 0.0, 0
    while step < args.steps:
        lr = C.lr_at(step, args.steps, args.lr, warmup=args.warmup)
        for gr in opt.param_groups:
            gr["lr"] = lr
        t0 = time.time()
        x, target = sample_batch(args.batch)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = net(C.to_cl(x))
        logits = logits.float()
        loss = F.binary_cross_entropy_with_logits(logits, target) + C.soft_dice_loss(torch.sigmoid(logits), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update(net, step)
        step += 1
        dt = time.time() - t0
        seconds += dt
        l_acc, t_acc, n_acc = l_acc + float(loss), t_acc + dt, n_acc + 1
        if step % 25 == 0 or step == args.steps:
            log("step %d/%d loss %.4f lr %.2e %.2fs/step eta %.0fmin" % (
                step, args.steps, l_acc / n_acc, lr, t_acc / n_acc, t_acc / n_acc * (args.steps - step) / 60))
            l_acc, t_acc, n_acc = 0.0, 0.0, 0
        if step % args.save_every == 0 or step == args.steps:
            path = save_student(ema.model, step, args, seconds)
            torch.save({"model": net.state_dict(), "ema": ema.model.state_dict(), "opt": opt.state_dict(),
                        "rng": C.rng_state(), "step": step, "seconds": seconds}, full + ".tmp")
            os.replace(full + ".tmp", full)
            log("saved %s" % os.path.relpath(path, C.WORK_DIR))
    log("done: %d steps, %.1f min of training" % (step, seconds / 60))


if __name__ == "__main__":
    main()
