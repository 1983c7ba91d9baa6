// The optional stop rule of Propagate (a click model's `interactive.propagateStop`): a slice whose object is no
// brighter than its surroundings, or much darker than the object on the starting slice, ends the object there.
// Models of bright lesions (FLAIR hyperintensity) otherwise carry the last outline on into normal tissue for several
// slices. The same rule as `propagation_stops` in models/training/interactive_common.py, on the same normalised
// values the model reads (channel 0).
import type { NormalizationSpec, PropagateStopSpec } from '../../../preload/formats';
import type { MaskWindow } from './geometry';
import { normalizeRegion, regionAffines, type PromptImage } from './prompt-image';

export interface MaskContrast {
  /** Mean normalised intensity inside the mask. */
  inside: number;
  /** Mean on the ring of ringPx pixels around it where the intensity is > 0 (0 when there is none). */
  around: number;
}

/**
 * Mean intensity inside the mask and on its ring: the mask dilated ringPx times with the 4-neighbour cross (pixels
 * within city-block distance ringPx), minus the mask, clipped to the image (as scipy's binary_dilation).
 */
export async function maskContrast(image: PromptImage, norm: NormalizationSpec, z: number, mask: MaskWindow, ringPx: number): Promise<MaskContrast> {
  const b = mask.bbox();
  if (!b) return { inside: 0, around: 0 };
  const x0 = Math.max(0, b.x0 - ringPx);
  const y0 = Math.max(0, b.y0 - ringPx);
  const w = Math.min(image.width, b.x1 + ringPx + 1) - x0;
  const h = Math.min(image.height, b.y1 + ringPx + 1) - y0;
  const raw = await image.read(z, x0, y0, w, h);
  const affines = norm.type === 'percentile' && norm.scope === 'crop' ? regionAffines(norm, raw) : await image.wholeAffines(norm, z);
  const v = normalizeRegion(raw, affines);
  // City-block distance to the mask by two passes (exact for the cross-shaped dilation), capped at ringPx + 1.
  const far = ringPx + 1;
  const d = new Int32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d[y * w + x] = mask.get(x + x0, y + y0) ? 0 : far;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (x > 0) d[i] = Math.min(d[i]!, d[i - 1]! + 1);
      if (y > 0) d[i] = Math.min(d[i]!, d[i - w]! + 1);
    }
  }
  for (let y = h - 1; y >= 0; y--) {
    for (let x = w - 1; x >= 0; x--) {
      const i = y * w + x;
      if (x < w - 1) d[i] = Math.min(d[i]!, d[i + 1]! + 1);
      if (y < h - 1) d[i] = Math.min(d[i]!, d[i + w]! + 1);
    }
  }
  let sIn = 0;
  let nIn = 0;
  let sRing = 0;
  let nRing = 0;
  for (let i = 0; i < w * h; i++) {
    const value = v[i]!;
    if (d[i] === 0) {
      sIn += value;
      nIn++;
    } else if (d[i]! <= ringPx && value > 0) {
      sRing += value;
      nRing++;
    }
  }
  return { inside: nIn ? sIn / nIn : 0, around: nRing ? sRing / nRing : 0 };
}

/** Does the rule end the object on this slice? insideStart: the mean inside the object on the starting slice. */
export function propagationStops(c: MaskContrast, insideStart: number, rule: PropagateStopSpec): boolean {
  if (rule.minContrast && c.around > 0 && c.inside < rule.minContrast * c.around) return true;
  return Boolean(rule.minRelativeIntensity && c.inside < rule.minRelativeIntensity * insideStart);
}
