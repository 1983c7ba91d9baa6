// Label overlays for one slice: the RGB `overlay.png` (image with class colours blended at 50% and solid
// outlines) and the RGBA overlay the renderer draws over its own view (transparent where there is no class).
import type { SliceBitmap } from '../../../preload/api';
import type { ManifestClass } from '../../../preload/formats';
import type { PixelArray } from '../image';
import type { LabelArray } from '../postprocess/labels';

export function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Colour table index -> RGB for label rasters: 0 black, classes their colour, the rest (nodata) black. */
export function labelColormap(classes: ManifestClass[], size: number): Array<[number, number, number]> {
  const map: Array<[number, number, number]> = Array.from({ length: size }, () => [0, 0, 0]);
  classes.forEach((c, i) => {
    if (i + 1 < size) map[i + 1] = hexToRgb(c.color);
  });
  return map;
}

/** True where a labelled pixel has a 4-neighbour (or the image edge) with another label: its outline. */
function isOutline(labels: LabelArray, off: number, x: number, y: number, w: number, h: number): boolean {
  const v = labels[off + y * w + x]!;
  return (
    x === 0 || y === 0 || x === w - 1 || y === h - 1 ||
    labels[off + y * w + x - 1] !== v || labels[off + y * w + x + 1] !== v ||
    labels[off + (y - 1) * w + x] !== v || labels[off + (y + 1) * w + x] !== v
  );
}

export interface SliceImage {
  data: PixelArray;
  width: number;
  height: number;
  depth: number;
  channels: number;
}

/** 8-bit display of slice z: 8-bit data as is, other types stretched between the 0.5 and 99.5 percentiles. */
export function displayRgb(image: SliceImage, z: number): Uint8Array {
  const plane = image.width * image.height;
  const out = new Uint8Array(plane * 3);
  const bands = image.channels >= 3 ? [0, 1, 2] : [0, 0, 0];
  const asIs = image.data instanceof Uint8Array;
  // One stretch per distinct band: a grey image shows band 0 three times and needs one sort, not three.
  const stretch = new Map<number, { lo: number; scale: number }>();
  bands.forEach((c, k) => {
    const start = (c * image.depth + z) * plane;
    const src = image.data.subarray(start, start + plane);
    let lo = 0;
    let scale = 1;
    if (!asIs) {
      const known = stretch.get(c);
      if (known) ({ lo, scale } = known);
      else {
        const finite = Float64Array.from(src as ArrayLike<number>).filter((v) => Number.isFinite(v)).sort();
        const pick = (p: number): number => finite[Math.min(finite.length - 1, Math.floor((p / 100) * (finite.length - 1)))] ?? 0;
        lo = pick(0.5);
        const hi = pick(99.5);
        scale = hi > lo ? 255 / (hi - lo) : 1;
        stretch.set(c, { lo, scale });
      }
    }
    for (let i = 0; i < plane; i++) {
      const v = (src[i]! - lo) * scale;
      out[i * 3 + k] = v < 0 ? 0 : v > 255 ? 255 : Number.isFinite(v) ? Math.round(v) : 0;
    }
  });
  return out;
}

/** overlay.png pixels: interleaved RGB of slice z with 50% class colours and full-colour outlines. */
export function overlayRgb(image: SliceImage, labels: LabelArray, z: number, classes: ManifestClass[]): Uint8Array {
  const { width: w, height: h } = image;
  const rgb = displayRgb(image, z);
  const colors = classes.map((c) => hexToRgb(c.color));
  const off = z * w * h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = labels[off + y * w + x]!;
      const color = colors[v - 1];
      if (v === 0 || !color) continue;
      const i = (y * w + x) * 3;
      const edge = isOutline(labels, off, x, y, w, h);
      for (let k = 0; k < 3; k++) rgb[i + k] = edge ? color[k]! : Math.round((rgb[i + k]! + color[k]!) / 2);
    }
  }
  return rgb;
}

/** RGBA overlay of slice z for the renderer, nearest-neighbour downsampled so the longest side is <= maxSize. */
export function overlayBitmap(labels: LabelArray, width: number, height: number, z: number, classes: ManifestClass[], maxSize = 1024): SliceBitmap {
  const scale = Math.max(1, Math.max(width, height) / maxSize);
  const bw = Math.max(1, Math.round(width / scale));
  const bh = Math.max(1, Math.round(height / scale));
  const rgba = new Uint8Array(bw * bh * 4);
  const colors = classes.map((c) => hexToRgb(c.color));
  const off = z * width * height;
  for (let by = 0; by < bh; by++) {
    const y = Math.min(height - 1, Math.floor((by + 0.5) * scale));
    for (let bx = 0; bx < bw; bx++) {
      const x = Math.min(width - 1, Math.floor((bx + 0.5) * scale));
      const v = labels[off + y * width + x]!;
      const color = colors[v - 1];
      if (v === 0 || !color) continue;
      const i = (by * bw + bx) * 4;
      rgba[i] = color[0];
      rgba[i + 1] = color[1];
      rgba[i + 2] = color[2];
      rgba[i + 3] = isOutline(labels, off, x, y, width, height) ? 255 : 128;
    }
  }
  // The bitmap is a label layer, not modality values: the window is the identity on 8-bit.
  return { width: bw, height: bh, scale, rgba, window: { center: 127.5, width: 255 } };
}
