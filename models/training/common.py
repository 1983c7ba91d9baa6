"""Shared helpers for Delineate model training (PyTorch 1.13, CPU).

Small U-Net, seeding, checkpoints, compact resume points, ONNX export with
Deepness-compatible metadata_props + our own `delineate_manifest` key.

Always run with Debian's /usr/bin/python3 (see models/training/README.md).
"""
import glob
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS_DIR = os.path.dirname(HERE)
DATA_ROOT = os.environ.get("DELINEATE_DATA", "/work/shared/data")
# For smoke tests: DELINEATE_SCRATCH=/tmp/x redirects outputs (models/<id>/), checkpoints/ and logs/ there.
SCRATCH = os.environ.get("DELINEATE_SCRATCH")
if SCRATCH:
    MODELS_DIR = SCRATCH
WORK_DIR = os.path.join(SCRATCH, "training") if SCRATCH else HERE


def log_path(name):
    return os.path.join(WORK_DIR, "logs", name)


# ----------------------------------------------------------------------------- setup
def setup_torch(threads=2):
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state():
    return {"py": random.getstate(), "np": np.random.get_state(), "torch": torch.get_rng_state()}


def set_rng_state(s):
    random.setstate(s["py"])
    np.random.set_state(s["np"])
    torch.set_rng_state(s["torch"])


class Logger:
    def __init__(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path

    def __call__(self, msg):
        line = time.strftime("%Y-%m-%d %H:%M:%S ") + msg
        print(line, flush=True)
        with open(self.path, "a") as f:
            f.write(line + "\n")


# ----------------------------------------------------------------------------- model
class ConvBlock(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        )


class UNet(nn.Module):
    """Plain U-Net. H and W of the input must be multiples of 2**(len(widths)-1) (16 for 5 levels)."""

    def __init__(self, in_ch=1, out_ch=1, widths=(16, 32, 64, 128, 192)):
        super().__init__()
        self.widths = tuple(widths)
        self.enc = nn.ModuleList()
        c = in_ch
        for w in widths:
            self.enc.append(ConvBlock(c, w))
            c = w
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(c, w, 2, stride=2))
            self.dec.append(ConvBlock(2 * w, w))
            c = w
        self.head = nn.Conv2d(c, out_ch, 1)

    def forward(self, x):
        skips = []
        for i, blk in enumerate(self.enc):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = blk(x)
            skips.append(x)
        skips.pop()
        for up, dec in zip(self.up, self.dec):
            x = up(x)
            x = dec(torch.cat([x, skips.pop()], 1))
        return self.head(x)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


class EMA:
    """Exponential moving average of parameters and BN buffers (used for validation and export)."""

    def __init__(self, model, decay=0.998):
        import copy
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model, step):
        d = min(self.decay, (1 + step) / (10 + step))
        for e, p in zip(self.model.state_dict().values(), model.state_dict().values()):
            if e.dtype.is_floating_point:
                e.mul_(d).add_(p.detach(), alpha=1 - d)
            else:
                e.copy_(p)


# ----------------------------------------------------------------------------- schedule
def lr_at(step, total, base_lr, warmup=100, final_frac=0.02):
    """Linear warm-up then cosine decay to final_frac*base_lr. Pure function of the step."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return base_lr * (final_frac + (1 - final_frac) * 0.5 * (1 + math.cos(math.pi * t)))


# ----------------------------------------------------------------------------- checkpoints
def ckpt_dir(model_id):
    return os.path.join(WORK_DIR, "checkpoints", model_id)


def save_checkpoint(model_id, state, keep=2):
    d = ckpt_dir(model_id)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "step_%07d.pt" % state["step"])
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)
    for old in sorted(glob.glob(os.path.join(d, "step_*.pt")))[:-keep]:
        os.remove(old)
    return path


def latest_checkpoint(model_id):
    files = sorted(glob.glob(os.path.join(ckpt_dir(model_id), "step_*.pt")))
    return files[-1] if files else None


def save_resume_point(model_id, ema_model, step, sched, extra=None):
    """Compact committed resume point models/<id>/resume.pt: fp16 EMA weights (+BN buffers),
    step and schedule state. Optimizer moments and RNG state are NOT kept (Adam re-warms
    its moments; training continued from it is therefore not bit-identical)."""
    sd = {k: (v.half() if v.dtype.is_floating_point else v) for k, v in ema_model.state_dict().items()}
    obj = {"format": "delineate-resume-v1", "model_id": model_id, "step": step, "sched": sched,
           "weights_fp16": sd, "extra": extra or {}}
    path = os.path.join(MODELS_DIR, model_id, "resume.pt")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(obj, path)
    return path


def load_fp16_state(model, sd16):
    model.load_state_dict({k: (v.float() if v.dtype.is_floating_point else v) for k, v in sd16.items()})


# ----------------------------------------------------------------------------- export
class WithActivation(nn.Module):
    def __init__(self, net, activation):
        super().__init__()
        self.net = net
        self.activation = activation

    def forward(self, x):
        y = self.net(x)
        if self.activation == "sigmoid":
            return torch.sigmoid(y)
        if self.activation == "softmax":
            return torch.softmax(y, dim=1)
        return y


def store_weights_fp16(m, min_elements=16):
    """Store the ONNX model's float32 weights as float16, each followed by a Cast back to float32: half the file,
    the same float32 arithmetic (onnxruntime folds the casts into constants when the session is created).
    Small tensors (BatchNorm scalars and the like, < min_elements) stay float32."""
    from onnx import TensorProto, helper, numpy_helper
    g = m.graph
    inits, casts, done = [], [], set()
    for t in g.initializer:
        if t.data_type == TensorProto.FLOAT and int(np.prod(t.dims)) >= min_elements:
            a = numpy_helper.to_array(t)
            if np.abs(a).max(initial=0) >= 65504:
                raise ValueError("weight %s does not fit float16" % t.name)
            h = numpy_helper.from_array(a.astype(np.float16), t.name + "__fp16")
            inits.append(h)
            casts.append(helper.make_node("Cast", [h.name], [t.name], to=TensorProto.FLOAT, name=t.name + "__to_fp32"))
            done.add(t.name)
        else:
            inits.append(t)
    del g.initializer[:]
    g.initializer.extend(inits)
    kept_inputs = [i for i in g.input if i.name not in done]  # old exporters list initializers as inputs
    del g.input[:]
    g.input.extend(kept_inputs)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    return len(done)


def export_onnx(net, in_ch, activation, out_path, manifest, deepness, opset=17, tile=256, fp16_weights=False):
    """Export net (+activation inside the graph) to ONNX with dynamic N/H/W.

    deepness: dict of Deepness metadata (model_type, class_names, resolution, tiles_size,...);
    values that are not str are JSON-encoded. The manifest JSON goes to `delineate_manifest`.
    fp16_weights: store the weights as float16 (store_weights_fp16), for models that would exceed the size budget.
    """
    import onnx
    wrapped = WithActivation(net, activation).eval()
    dummy = torch.zeros(1, in_ch, tile, tile)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    tmp = out_path + ".tmp.onnx"
    with torch.no_grad():
        torch.onnx.export(wrapped, dummy, tmp, opset_version=opset, input_names=["input"],
                          output_names=["output"], do_constant_folding=True,
                          dynamic_axes={"input": {0: "N", 2: "H", 3: "W"}, "output": {0: "N", 2: "H", 3: "W"}})
    m = onnx.load(tmp)
    if fp16_weights:
        store_weights_fp16(m)
    del m.metadata_props[:]
    props = dict(deepness)
    props["delineate_manifest"] = manifest
    for k, v in props.items():
        if v is None:
            continue
        e = m.metadata_props.add()
        e.key = k
        e.value = v if isinstance(v, str) else json.dumps(v)
    m.producer_name = "delineate-training"
    m.doc_string = manifest.get("name", "") if isinstance(manifest, dict) else ""
    onnx.checker.check_model(m)
    onnx.save(m, out_path)
    os.remove(tmp)
    return out_path


def write_manifest(model_id, manifest):
    path = os.path.join(MODELS_DIR, model_id, "manifest.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return path


def deepness_meta(class_names, tile=256, overlap_frac=0.5, resolution_cm=None, mean=None, std=None,
                  seg_thresh=None):
    """Deepness metadata. mean/std in Deepness convention (image/255 then (x-mean)/std)."""
    d = {"model_type": "Segmentor",
         "class_names": {str(i): n for i, n in enumerate(class_names)},
         "tiles_size": int(tile), "tile_size": int(tile),
         "tiles_overlap": int(round(overlap_frac * 100))}
    if resolution_cm is not None:
        d["resolution"] = float(resolution_cm)
    if mean is not None:
        d["standardization_mean"] = [float(v) / 255.0 for v in mean]
        d["standardization_std"] = [float(v) / 255.0 for v in std]
    if seg_thresh is not None:
        d["seg_thresh"] = float(seg_thresh)
    return d


def to_cl(x):
    return x.contiguous(memory_format=torch.channels_last)


# ----------------------------------------------------------------------------- generic training loop
def add_common_args(p, steps, batch, lr, eval_every, ckpt_every=200, seed=20240601):
    p.add_argument("--steps", type=int, default=steps, help="total optimisation steps of the schedule")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest checkpoint in checkpoints/<id>/ (else from models/<id>/resume.pt)")
    p.add_argument("--export-only", action="store_true", help="validate + export the newest checkpoint / resume.pt")
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--resume-lr", type=float, default=None,
                   help="with --resume: a new base learning rate for the rest of the schedule (the stored one is "
                        "kept otherwise), e.g. to continue a finished run at a lower rate")
    p.add_argument("--seed", type=int, default=seed)
    p.add_argument("--eval-every", type=int, default=eval_every)
    p.add_argument("--ckpt-every", type=int, default=ckpt_every)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-bf16", action="store_true", help="train in fp32 (default: bf16 autocast on CPU)")
    return p


def run_training(model_id, args, make_net, sample_batch, loss_fn, evaluate, export, log, score_key, warm_start=None):
    """sample_batch(step, batch) -> (x, y) tensors; loss_fn(logits, y) -> scalar;
    evaluate(net) -> dict of metrics (must contain score_key); export(net, state, metrics) -> None;
    warm_start(net) -> description or None: initial weights of a fresh run (not used when resuming)."""
    setup_torch(args.threads)
    set_seed(args.seed)
    net = make_net().to(memory_format=torch.channels_last)
    ema = EMA(net)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    state = {"step": 0, "total": args.steps, "seconds": 0.0, "history": [], "baseline": None,
             "base_lr": args.lr, "seed": args.seed, "batch": args.batch, "warm_start": None}
    ck = latest_checkpoint(model_id) if (args.resume or args.export_only) else None
    rp = os.path.join(MODELS_DIR, model_id, "resume.pt")
    if ck:
        s = torch.load(ck, map_location="cpu")
        net.load_state_dict(s["model"])
        ema.model.load_state_dict(s["ema"])
        opt.load_state_dict(s["opt"])
        set_rng_state(s["rng"])
        for k in state:
            if k in s:
                state[k] = s[k]
        log("resumed from %s (step %d/%d)" % (os.path.relpath(ck, WORK_DIR), state["step"], state["total"]))
    elif (args.resume or args.export_only) and os.path.exists(rp):
        s = torch.load(rp, map_location="cpu")
        load_fp16_state(net, s["weights_fp16"])
        load_fp16_state(ema.model, s["weights_fp16"])
        for k, v in s["sched"].items():
            state[k] = v
        state["step"] = s["step"]
        set_seed(args.seed + state["step"])
        log("resumed from compact models/%s/resume.pt (step %d/%d; fresh optimizer moments)"
            % (model_id, state["step"], state["total"]))
    elif args.export_only:
        raise SystemExit("nothing to export: no checkpoint and no resume.pt for %s" % model_id)
    elif warm_start is not None:
        what = warm_start(net)
        if what:
            ema.model.load_state_dict(net.state_dict())
            state["warm_start"] = what
            log("warm start: %s" % what)
    if args.resume and getattr(args, "resume_lr", None) and not args.export_only:
        log("base learning rate changed %g -> %g" % (state["base_lr"], args.resume_lr))
        state["base_lr"] = args.resume_lr
    if args.steps != state["total"] and not args.export_only and (args.resume):
        log("schedule length changed %d -> %d" % (state["total"], args.steps))
        state["total"] = args.steps
    total = state["total"]
    onnx_path = os.path.join(MODELS_DIR, model_id, "model.onnx")
    if (args.resume and ck and state["step"] >= total and os.path.exists(onnx_path)
            and os.path.getmtime(onnx_path) >= os.path.getmtime(ck)):
        log("%s already complete (step %d) and exported; skipping (use --export-only to re-export)"
            % (model_id, state["step"]))
        return
    log("model %s: %d params, batch %d, steps %d, lr %g, bf16 %s"
        % (model_id, n_params(net), args.batch, total, state["base_lr"], not args.no_bf16))

    def checkpoint():
        save_checkpoint(model_id, {"model": net.state_dict(), "ema": ema.model.state_dict(),
                                   "opt": opt.state_dict(), "rng": rng_state(), **state})

    def do_eval(tag):
        t0 = time.time()
        m = evaluate(ema.model.eval())
        state["history"].append({"step": state["step"], **m})
        log("eval %s step %d: %s (%.0fs)" % (tag, state["step"], fmt_metrics(m), time.time() - t0))
        return m

    baseline_step = max(1, int(round(0.2 * total)))
    net.train()
    t_acc, l_acc, n_acc = 0.0, 0.0, 0
    while state["step"] < total and not args.export_only:
        step = state["step"]
        lr = lr_at(step, total, state["base_lr"])
        for g in opt.param_groups:
            g["lr"] = lr
        t0 = time.time()
        x, y = sample_batch(step, args.batch)
        x = to_cl(x)
        if args.no_bf16:
            logits = net(x)
        else:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = net(x)
        loss = loss_fn(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update(net, step)
        state["step"] = step + 1
        state["seconds"] += time.time() - t0
        t_acc += time.time() - t0
        l_acc += float(loss)
        n_acc += 1
        if state["step"] % 50 == 0 or state["step"] == total:
            dt = t_acc / n_acc
            log("step %d/%d loss %.4f lr %.2e %.2fs/step eta %.0fmin"
                % (state["step"], total, l_acc / n_acc, lr, dt, dt * (total - state["step"]) / 60))
            t_acc, l_acc, n_acc = 0.0, 0.0, 0
        if state["step"] == baseline_step and state["baseline"] is None:
            m = do_eval("baseline(20%)")
            state["baseline"] = {"step": state["step"], **m}
            net.train()
        elif state["step"] % args.eval_every == 0 and state["step"] < total:
            do_eval("")
            net.train()
        if state["step"] % args.ckpt_every == 0 or state["step"] == total:
            checkpoint()
    final = do_eval("final")
    if not args.export_only:
        checkpoint()
    save_resume_point(model_id, ema.model, state["step"],
                      {"total": state["total"], "base_lr": state["base_lr"], "seconds": state["seconds"],
                       "baseline": state["baseline"], "seed": state["seed"], "batch": state["batch"]})
    export(ema.model.eval(), state, final)
    try:  # refresh the metrics block of every model card (models/<id>/README.md) from the manifests
        import update_cards
        update_cards.main()
    except Exception as e:  # never fail a finished training run on documentation
        log("update_cards failed: %r" % (e,))
    log("exported models/%s/model.onnx (%.2f MB); train time %.1f min"
        % (model_id, os.path.getsize(onnx_path) / 1e6, state["seconds"] / 60))


def pick_floats(m):
    """The float figures of a metrics dict, rounded for a manifest (None stays None)."""
    return {k: round(v, 4) for k, v in m.items() if isinstance(v, float)} if m else None


def iou_metrics(cm, class_names):
    """mIoU, pixel accuracy and per-class IoU ("IoU_<name>") from a confusion matrix (rows = truth)."""
    tp = np.diag(cm).astype(np.float64)
    iou = tp / np.maximum(cm.sum(0) + cm.sum(1) - tp, 1)
    m = {"mIoU": float(iou.mean()), "pixel_acc": float(tp.sum() / cm.sum())}
    for n, v in zip(class_names, iou):
        m["IoU_" + n] = float(v)
    return m


def random_dihedral(x, y):
    """One of the 8 rotations/flips, the same for image x (C, H, W) and target y (..., H, W)."""
    k = int(torch.randint(4, (1,)))
    x, y = torch.rot90(x, k, (-2, -1)), torch.rot90(y, k, (-2, -1))
    if torch.rand(1) < 0.5:
        x, y = x.flip(-1), y.flip(-1)
    return x, y


def rgb_jitter(x, offset, p=0.8):
    """Colour jitter of a raw 0-255 RGB batch (N, 3, H, W): brightness and contrast +-15 %, per-channel gain +-5 %
    and offset +-`offset`, each sample with probability p; clamped to 0-255."""
    bs = x.shape[0]
    on = (torch.rand(bs, 1, 1, 1) < p).float()
    b = 1 + torch.empty(bs, 1, 1, 1).uniform_(-0.15, 0.15) * on
    c = 1 + torch.empty(bs, 1, 1, 1).uniform_(-0.15, 0.15) * on
    g = 1 + torch.empty(bs, 3, 1, 1).uniform_(-0.05, 0.05) * on
    o = torch.empty(bs, 3, 1, 1).uniform_(-offset, offset) * on
    mu = x.mean((1, 2, 3), keepdim=True)
    return (((x - mu) * c + mu) * b * g + o).clamp(0, 255)


def fmt_metrics(m):
    return " ".join("%s=%.4f" % (k, v) if isinstance(v, float) else "%s=%s" % (k, v)
                    for k, v in m.items() if not isinstance(v, (dict, list)))


def soft_dice_loss(prob, target, eps=1.0):
    inter = (prob * target).sum()
    return 1 - (2 * inter + eps) / (prob.sum() + target.sum() + eps)


def random_affine(n, rot_deg=15.0, scale=(0.9, 1.1), shift=0.05, hflip=True, vflip=False, p=0.8):
    """Batch of 2x3 affine matrices for F.affine_grid (torch RNG)."""
    a = (torch.rand(n) * 2 - 1) * math.radians(rot_deg)
    s = torch.empty(n).uniform_(*scale)
    on = (torch.rand(n) < p).float()
    a, s = a * on, s * on + (1 - on)
    fx = torch.where(torch.rand(n) < 0.5, -1.0, 1.0) if hflip else torch.ones(n)
    fy = torch.where(torch.rand(n) < 0.5, -1.0, 1.0) if vflip else torch.ones(n)
    t = (torch.rand(n, 2) * 2 - 1) * shift * on[:, None]
    c, sn = torch.cos(a) / s, torch.sin(a) / s
    theta = torch.stack([torch.stack([c * fx, -sn * fy, t[:, 0]], 1),
                         torch.stack([sn * fx, c * fy, t[:, 1]], 1)], 1)
    return theta


def warp(x, theta, mode="bilinear"):
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)
