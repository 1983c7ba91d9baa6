// The geometry of one click step, shared by every prompt model and by the evaluation: where the crop goes, how the
// crop is resampled to the model's S x S input and back, the click disks, the border-grow test and how the
// prediction is pasted into the previous mask. The rules are the interactive spec's, exactly as the training code
// (models/training/interactive_common.py) implements them, so the app feeds the model what it was trained on.
// Masks on one slice are windows of the image (MaskWindow) so a 10000 x 10000 raster never needs a full-size mask.
import { flood4 } from '../postprocess/flood4';

/** A click in native pixel indices (x = column, y = row). */
export interface Click2 {
  x: number;
  y: number;
  positive: boolean;
}

/** Inclusive pixel box. */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A square crop in native pixels; it may reach past the image (those pixels read 0). */
export interface Crop {
  x0: number;
  y0: number;
  side: number;
}

/** Parameters of the crop rules (the manifest's `interactive` block). */
export interface CropRules {
  firstCropPx: number;
  minCropPx: number;
  marginFraction: number;
}

/** A binary mask on part of one slice: pixels outside the window are 0. */
export class MaskWindow {
  constructor(
    readonly x: number,
    readonly y: number,
    readonly width: number,
    readonly height: number,
    readonly data: Uint8Array = new Uint8Array(width * height),
  ) {}

  static empty(): MaskWindow {
    return new MaskWindow(0, 0, 0, 0);
  }

  get(x: number, y: number): number {
    const lx = x - this.x;
    const ly = y - this.y;
    return lx >= 0 && ly >= 0 && lx < this.width && ly < this.height ? this.data[ly * this.width + lx]! : 0;
  }

  count(): number {
    let n = 0;
    for (let i = 0; i < this.data.length; i++) n += this.data[i]! ? 1 : 0;
    return n;
  }

  /** Inclusive bounding box of the set pixels, or null when none is set. */
  bbox(): PixelBox | null {
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (let y = 0; y < this.height; y++) {
      const row = y * this.width;
      for (let x = 0; x < this.width; x++) {
        if (!this.data[row + x]) continue;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
    return x1 < 0 ? null : { x0: x0 + this.x, y0: y0 + this.y, x1: x1 + this.x, y1: y1 + this.y };
  }

  /** The same pixels in a tight window (or an empty window). */
  tight(): MaskWindow {
    const b = this.bbox();
    if (!b) return MaskWindow.empty();
    return this.resized(b.x0, b.y0, b.x1 - b.x0 + 1, b.y1 - b.y0 + 1);
  }

  /** The same pixels in another window (pixels outside it are dropped). */
  resized(x: number, y: number, width: number, height: number): MaskWindow {
    const out = new MaskWindow(x, y, width, height);
    const ox0 = Math.max(x, this.x);
    const ox1 = Math.min(x + width, this.x + this.width);
    for (let yy = Math.max(y, this.y); yy < Math.min(y + height, this.y + this.height); yy++) {
      for (let xx = ox0; xx < ox1; xx++) out.data[(yy - y) * width + (xx - x)] = this.data[(yy - this.y) * this.width + (xx - this.x)]!;
    }
    return out;
  }

  /** A full-slice copy (W x H), for volumes and the in-memory result. */
  full(W: number, H: number): Uint8Array {
    if (this.x === 0 && this.y === 0 && this.width === W && this.height === H) return this.data;
    return this.resized(0, 0, W, H).data;
  }
}

export function roundHalfUp(v: number): number {
  return Math.floor(v + 0.5);
}

/** Crop origin for a centre (spec: floor(centre - (side - 1) / 2 + 0.5)). */
export function cropOrigin(centre: number, side: number): number {
  return Math.floor(centre - (side - 1) / 2 + 0.5);
}

/** Inclusive box of the clicks, the previous mask's pixels and the user's box. */
export function promptBox(clicks: readonly Click2[], maskBox: PixelBox | null, box: PixelBox | null): PixelBox {
  const xs: number[] = clicks.map((c) => c.x);
  const ys: number[] = clicks.map((c) => c.y);
  for (const b of [maskBox, box]) {
    if (!b) continue;
    xs.push(b.x0, b.x1);
    ys.push(b.y0, b.y1);
  }
  return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
}

/** Spec step 2: the square crop for these clicks, previous mask box and user box. */
export function chooseCrop(clicks: readonly Click2[], maskBox: PixelBox | null, box: PixelBox | null, rules: CropRules): Crop {
  if (!maskBox && !box) {
    const positives = clicks.filter((c) => c.positive);
    const last = positives.at(-1) ?? clicks.at(-1);
    if (!last) throw new RangeError('a prompt needs a click, a box or a previous mask');
    const side = rules.firstCropPx;
    return { x0: cropOrigin(last.x, side), y0: cropOrigin(last.y, side), side };
  }
  const b = promptBox(clicks, maskBox, box);
  const side = Math.max(rules.minCropPx, roundHalfUp(Math.max(b.x1 - b.x0 + 1, b.y1 - b.y0 + 1) * (1 + 2 * rules.marginFraction)));
  return { x0: cropOrigin((b.x0 + b.x1) / 2, side), y0: cropOrigin((b.y0 + b.y1) / 2, side), side };
}

/** Spec step 5: twice the side around the same centre. */
export function growCrop(c: Crop): Crop {
  const cx = c.x0 + (c.side - 1) / 2;
  const cy = c.y0 + (c.side - 1) / 2;
  return { x0: cropOrigin(cx, 2 * c.side), y0: cropOrigin(cy, 2 * c.side), side: 2 * c.side };
}

/** The part of a crop inside a W x H image (empty width/height when none). */
export function clipCrop(c: Crop, W: number, H: number): { x: number; y: number; width: number; height: number } {
  const x = Math.max(0, c.x0);
  const y = Math.max(0, c.y0);
  return { x, y, width: Math.max(0, Math.min(W, c.x0 + c.side) - x), height: Math.max(0, Math.min(H, c.y0 + c.side) - y) };
}

interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
}

/** Bilinear taps n_in -> n_out with pixel centres (torch align_corners=False: negative sources clamp to 0). */
export function linearTaps(nOut: number, nIn: number): Taps {
  const i0 = new Int32Array(nOut);
  const i1 = new Int32Array(nOut);
  const w1 = new Float32Array(nOut);
  for (let d = 0; d < nOut; d++) {
    const src = Math.max(0, (d + 0.5) * (nIn / nOut) - 0.5);
    const a = Math.min(Math.floor(src), nIn - 1);
    i0[d] = a;
    i1[d] = Math.min(a + 1, nIn - 1);
    w1[d] = src - a;
  }
  return { i0, i1, w1 };
}

/** Nearest taps with pixel centres: src = floor((dst + 0.5) * n_in / n_out). */
export function nearestTaps(nOut: number, nIn: number): Int32Array {
  const out = new Int32Array(nOut);
  for (let d = 0; d < nOut; d++) out[d] = Math.min(Math.floor((d + 0.5) * (nIn / nOut)), nIn - 1);
  return out;
}

/**
 * Bilinear S x S resampling of a crop whose inside-the-image part is given: `part` (C x ph x pw, channel-planar)
 * sits at (offX, offY) in crop coordinates; every other crop pixel reads 0. Writes into out (C x S x S).
 */
export function resampleCrop(part: Float32Array, channels: number, pw: number, ph: number, offX: number, offY: number, side: number, S: number, out: Float32Array): void {
  const t = linearTaps(S, side);
  const at = (c: number, r: number, col: number): number => {
    const py = r - offY;
    const px = col - offX;
    return py >= 0 && px >= 0 && py < ph && px < pw ? part[(c * ph + py) * pw + px]! : 0;
  };
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < S; y++) {
      const r0 = t.i0[y]!;
      const r1 = t.i1[y]!;
      const wr = t.w1[y]!;
      for (let x = 0; x < S; x++) {
        const c0 = t.i0[x]!;
        const c1 = t.i1[x]!;
        const wc = t.w1[x]!;
        const top = at(c, r0, c0) * (1 - wc) + at(c, r0, c1) * wc;
        const bot = at(c, r1, c0) * (1 - wc) + at(c, r1, c1) * wc;
        out[(c * S + y) * S + x] = top * (1 - wr) + bot * wr;
      }
    }
  }
}

/** The previous mask in the crop, nearest, S x S (pixels past the image read 0). */
export function resampleMaskNearest(mask: MaskWindow, crop: Crop, S: number, W: number, H: number, out: Float32Array): void {
  const r = nearestTaps(S, crop.side);
  for (let y = 0; y < S; y++) {
    const iy = crop.y0 + r[y]!;
    for (let x = 0; x < S; x++) {
      const ix = crop.x0 + r[x]!;
      out[y * S + x] = ix >= 0 && iy >= 0 && ix < W && iy < H && mask.get(ix, iy) ? 1 : 0;
    }
  }
}

/** The probability S x S resampled to side x side (taps = linearTaps(side, S)) at crop pixel (x, y): bilinear. */
function upsampledAt(prob: Float32Array, S: number, t: Taps, x: number, y: number): number {
  const r0 = t.i0[y]! * S;
  const r1 = t.i1[y]! * S;
  const wr = t.w1[y]!;
  const c0 = t.i0[x]!;
  const c1 = t.i1[x]!;
  const wc = t.w1[x]!;
  const top = prob[r0 + c0]! * (1 - wc) + prob[r0 + c1]! * wc;
  const bot = prob[r1 + c0]! * (1 - wc) + prob[r1 + c1]! * wc;
  return top * (1 - wr) + bot * wr;
}

/** Probability S x S -> side x side (bilinear, pixel centres), thresholded (> threshold). */
export function upsampleThreshold(prob: Float32Array, S: number, side: number, threshold: number): Uint8Array {
  const t = linearTaps(side, S);
  const out = new Uint8Array(side * side);
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) out[y * side + x] = upsampledAt(prob, S, t, x, y) > threshold ? 1 : 0;
  return out;
}

/**
 * Spec step 4b (`clickLevelSetMin` > 0; the user's clicks, not Propagate's): when the thresholded outline (pred,
 * side x side, changed in place) contradicts the newest click, the click is honoured through the model's own
 * probability (prob, S x S, upsampled as in step 4 where the fill reads it): a positive click outside the outline
 * adds the 4-connected part holding it of {p >= p at the click}, the smallest level set that reaches it (when that
 * probability is >= minP); a negative click inside removes the part holding it of {p <= p at the click} (when that
 * is <= 1 - minP). Nothing is upsampled unless the click is contradicted.
 */
export function honourLastClick(pred: Uint8Array, prob: Float32Array, S: number, crop: Crop, click: Click2, minP: number): void {
  const { side } = crop;
  const lx = click.x - crop.x0;
  const ly = click.y - crop.y0;
  if (lx < 0 || ly < 0 || lx >= side || ly >= side) return;
  const at = ly * side + lx;
  if ((pred[at] === 1) === click.positive) return;
  const t = linearTaps(side, S);
  const pc = upsampledAt(prob, S, t, lx, ly);
  if (click.positive ? pc < minP : pc > 1 - minP) return;
  const value = click.positive ? 1 : 0;
  // flood4 looks at every pixel once, so every pixel's probability is computed once (the click's above).
  flood4(
    side,
    side,
    [at],
    (j, x, y) => {
      if (j === at) return true;
      const p = upsampledAt(prob, S, t, x, y);
      return click.positive ? p >= pc : p <= pc;
    },
    (i) => {
      pred[i] = value;
    },
  );
}

/** Positive and negative disk maps (2 x S x S) in crop coordinates. */
export function clickMaps(clicks: readonly Click2[], crop: Crop, S: number, radius: number, out: Float32Array): void {
  const k = S / crop.side;
  for (const c of clicks) {
    const cx = (c.x - crop.x0 + 0.5) * k - 0.5;
    const cy = (c.y - crop.y0 + 0.5) * k - 0.5;
    if (cx < -radius || cy < -radius || cx > S - 1 + radius || cy > S - 1 + radius) continue;
    const base = c.positive ? 0 : S * S;
    const ya = Math.max(0, Math.ceil(cy - radius));
    const yb = Math.min(S - 1, Math.floor(cy + radius));
    const xa = Math.max(0, Math.ceil(cx - radius));
    const xb = Math.min(S - 1, Math.floor(cx + radius));
    for (let y = ya; y <= yb; y++) for (let x = xa; x <= xb; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= radius * radius) out[base + y * S + x] = 1;
  }
}

/** Spec step 5's test: does the prediction (side x side) touch a crop side that lies inside the image? */
export function touchesInnerSide(pred: Uint8Array, crop: Crop, W: number, H: number): boolean {
  const { x0, y0, side } = crop;
  const rLo = Math.max(0, -y0);
  const rHi = Math.min(side, H - y0);
  const cLo = Math.max(0, -x0);
  const cHi = Math.min(side, W - x0);
  if (rLo >= rHi || cLo >= cHi) return false;
  const rowAny = (r: number): boolean => {
    for (let c = cLo; c < cHi; c++) if (pred[r * side + c]) return true;
    return false;
  };
  const colAny = (c: number): boolean => {
    for (let r = rLo; r < rHi; r++) if (pred[r * side + c]) return true;
    return false;
  };
  return (y0 > 0 && rowAny(rLo)) || (y0 + side < H && rowAny(rHi - 1)) || (x0 > 0 && colAny(cLo)) || (x0 + side < W && colAny(cHi - 1));
}

/** Spec step 6: the previous mask outside the crop, the prediction (side x side) inside it, clipped to the image. */
export function pasteCrop(previous: MaskWindow, pred: Uint8Array, crop: Crop, W: number, H: number): MaskWindow {
  const inside = clipCrop(crop, W, H);
  const prevBox = previous.bbox();
  const x = Math.min(inside.x, prevBox?.x0 ?? Infinity);
  const y = Math.min(inside.y, prevBox?.y0 ?? Infinity);
  const x1 = Math.max(inside.x + inside.width, prevBox ? prevBox.x1 + 1 : -Infinity);
  const y1 = Math.max(inside.y + inside.height, prevBox ? prevBox.y1 + 1 : -Infinity);
  const out = previous.resized(x, y, x1 - x, y1 - y);
  for (let yy = inside.y; yy < inside.y + inside.height; yy++) {
    for (let xx = inside.x; xx < inside.x + inside.width; xx++) {
      out.data[(yy - y) * out.width + (xx - x)] = pred[(yy - crop.y0) * crop.side + (xx - crop.x0)]!;
    }
  }
  return out;
}

// ---------------------------------------------------------------- deepest point (first click, propagation, eval)

/** 1D squared Euclidean distance transform (Felzenszwalb & Huttenlocher) of f in place over n samples. */
function edt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let s = (f[q]! + q * q - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
    while (s <= z[k]!) {
      k--;
      s = (f[q]! + q * q - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    d[q] = (q - v[k]!) ** 2 + f[v[k]!]!;
  }
}

/**
 * Euclidean distance of each region pixel (w x h, nonzero = region) to the nearest pixel outside it, the region
 * padded with background (as scipy's distance_transform_edt on the padded array): squared distances.
 */
export function insideDistanceSq(region: ArrayLike<number>, w: number, h: number): Float64Array {
  const W = w + 2;
  const H = h + 2;
  const BIG = 1e20;
  const g = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) g[y * W + x] = x > 0 && y > 0 && x <= w && y <= h && region[(y - 1) * w + (x - 1)] ? BIG : 0;
  }
  const n = Math.max(W, H);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  for (let x = 0; x < W; x++) {
    for (let y = 0; y < H; y++) f[y] = g[y * W + x]!;
    edt1d(f, H, d, v, z);
    for (let y = 0; y < H; y++) g[y * W + x] = d[y]!;
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) f[x] = g[y * W + x]!;
    edt1d(f, W, d, v, z);
    for (let x = 0; x < W; x++) g[y * W + x] = d[x]!;
  }
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = region[y * w + x] ? g[(y + 1) * W + (x + 1)]! : 0;
  return out;
}

/** The region's interior point farthest from its boundary (first in row order on ties, as numpy's argmax). */
export function deepestPoint(region: ArrayLike<number>, w: number, h: number): { x: number; y: number; distance: number } | null {
  const d = insideDistanceSq(region, w, h);
  let best = -1;
  let at = -1;
  for (let i = 0; i < d.length; i++) {
    if (region[i] && d[i]! > best) {
      best = d[i]!;
      at = i;
    }
  }
  return at < 0 ? null : { x: at % w, y: Math.floor(at / w), distance: Math.sqrt(best) };
}

/** Deepest point of a mask window, in image coordinates. */
export function deepestPointOf(mask: MaskWindow): { x: number; y: number; distance: number } | null {
  const p = deepestPoint(mask.data, mask.width, mask.height);
  return p ? { x: p.x + mask.x, y: p.y + mask.y, distance: p.distance } : null;
}
