// Overlay colours: class colours from the manifest, a distinct colour per instance, and the RGBA overlay of one
// slice's instance map (filled or outline-only, hidden classes left out, the selected instance emphasised).
import type { ResultSlice } from '../../preload/api';

export type Rgb = [number, number, number];

export function hexToRgb(hex: string): Rgb {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex.trim());
  return m ? [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)] : [255, 0, 255];
}

/** Well-spread hues by the golden angle, so neighbouring ids differ. */
export function instanceColor(id: number): Rgb {
  const h = (id * 137.508) % 360;
  const s = 0.75;
  const l = 0.55;
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}

export interface OverlayPaint {
  /** Colour of each instance id; ids missing here (hidden classes) are not drawn. */
  colorOf: Map<number, Rgb>;
  opacity: number;
  outline: boolean;
  selectedId: number | null;
}

/** Fill alpha at `opacity`, and the selected instance's brighter one. */
export function overlayAlphas(opacity: number): { fillA: number; selA: number } {
  const fillA = Math.round(Math.max(0, Math.min(1, opacity)) * 255);
  return { fillA, selA: Math.min(255, Math.round(fillA * 1.4 + 40)) };
}

/**
 * Writes pixel i of an overlay (the rules of paintOverlay, shared with the full-resolution tiles so the two never
 * differ): the selected instance's edge is opaque white; outline mode keeps only edges, opaque; otherwise a fill.
 */
export function putOverlayPixel(out: Uint8ClampedArray, i: number, rgb: Rgb, edge: boolean, selected: boolean, outline: boolean, fillA: number, selA: number): void {
  let a: number;
  let c: Rgb = rgb;
  if (selected && edge) {
    c = [255, 255, 255];
    a = 255;
  } else if (outline) {
    if (!edge) return;
    a = 255;
  } else {
    a = selected ? selA : fillA;
  }
  const o = i * 4;
  out[o] = c[0];
  out[o + 1] = c[1];
  out[o + 2] = c[2];
  out[o + 3] = a;
}

/**
 * RGBA pixels of the overlay at the map's resolution. Filled: every pixel at `opacity`, the selected instance
 * brighter. Outline: only pixels with a 4-neighbour of another id. The selected instance always gets an
 * opaque white rim, so it is found at a glance.
 */
export function paintOverlay(slice: ResultSlice, p: OverlayPaint): Uint8ClampedArray {
  const { width: w, height: h, instances } = slice;
  const out = new Uint8ClampedArray(w * h * 4);
  const { fillA, selA } = overlayAlphas(p.opacity);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const id = instances[i]!;
      if (id === 0) continue;
      const rgb = p.colorOf.get(id);
      if (!rgb) continue;
      const edge =
        x === 0 || y === 0 || x === w - 1 || y === h - 1 || instances[i - 1] !== id || instances[i + 1] !== id || instances[i - w] !== id || instances[i + w] !== id;
      putOverlayPixel(out, i, rgb, edge, id === p.selectedId, p.outline, fillA, selA);
    }
  }
  return out;
}

/** Inferno (matplotlib), nine stops at 0, 1/8 ... 1: perceptually uniform, readable in greyscale, dark = low. */
const INFERNO_STOPS: Rgb[] = [
  [0, 0, 4],
  [27, 12, 65],
  [74, 12, 107],
  [120, 28, 109],
  [165, 44, 96],
  [207, 68, 70],
  [237, 105, 37],
  [251, 155, 6],
  [252, 255, 164],
];

/** 256-entry RGB table of the heat-map colours, interpolated between the stops. */
export const HEAT_LUT: Uint8Array = (() => {
  const lut = new Uint8Array(256 * 3);
  const n = INFERNO_STOPS.length - 1;
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * n;
    const k = Math.min(n - 1, Math.floor(t));
    const f = t - k;
    const a = INFERNO_STOPS[k]!;
    const b = INFERNO_STOPS[k + 1]!;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(a[c]! + (b[c]! - a[c]!) * f);
  }
  return lut;
})();

/** CSS gradient of the heat-map colours, left = 0, right = 1 (the legend bar). */
export function heatGradientCss(): string {
  return `linear-gradient(to right, ${INFERNO_STOPS.map((c, i) => `rgb(${c.join(',')}) ${Math.round((i / (INFERNO_STOPS.length - 1)) * 100)}%`).join(', ')})`;
}

/**
 * RGBA of a probability slice (values p x 255) in the heat-map colours. Opacity ramps up over p 0..0.2, so the
 * large near-zero background does not darken the image; pixels a person edited are left clear (no model value).
 * `edited` null: none edited (the full-resolution tiles, which carry no edits).
 */
export function paintProbability(values: Uint8Array, edited: Uint8Array | null, opacity: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(values.length * 4);
  const a = Math.max(0, Math.min(1, opacity)) * 255;
  for (let i = 0; i < values.length; i++) {
    if (edited?.[i]) continue;
    const v = values[i]!;
    const o = i * 4;
    out[o] = HEAT_LUT[v * 3]!;
    out[o + 1] = HEAT_LUT[v * 3 + 1]!;
    out[o + 2] = HEAT_LUT[v * 3 + 2]!;
    out[o + 3] = Math.round(a * Math.min(1, v / 51));
  }
  return out;
}
