import { describe, expect, it } from 'vitest';
import { markerWatershed } from '../../main/engine/postprocess/watershed';

/** Two touching discs joined by a neck, with a ridge (high elevation) along the neck's middle column. */
function touchingDiscs(width: number, height: number) {
  const mask = new Uint8Array(width * height);
  const elevation = new Float32Array(width * height);
  const markers = new Uint32Array(width * height);
  const r = 10;
  const c1 = [15, 15];
  const c2 = [33, 15];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const d1 = Math.hypot(x - c1[0]!, y - c1[1]!);
      const d2 = Math.hypot(x - c2[0]!, y - c2[1]!);
      if (d1 <= r || d2 <= r) mask[i] = 1;
      elevation[i] = x === 24 ? 0.9 : 0.1;
    }
  }
  markers[c1[1]! * width + c1[0]!] = 1;
  markers[c2[1]! * width + c2[0]!] = 2;
  return { mask, elevation, markers };
}

describe('markerWatershed', () => {
  it('splits two touching objects along the ridge and keeps every mask pixel', () => {
    const width = 50;
    const height = 30;
    const { mask, elevation, markers } = touchingDiscs(width, height);
    const labels = markerWatershed({ width, height, elevation, markers, mask });
    let left = 0;
    let right = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (!mask[i]) {
          expect(labels[i]).toBe(0);
          continue;
        }
        expect(labels[i]).toBeGreaterThan(0);
        if (x < 24) expect(labels[i]).toBe(1);
        if (x > 24) expect(labels[i]).toBe(2);
        if (labels[i] === 1) left++;
        else right++;
      }
    }
    // Symmetric shapes: the ridge column is shared, so the halves differ by at most that column.
    expect(Math.abs(left - right)).toBeLessThanOrEqual(height);
  });

  it('leaves mask pixels no marker can reach unlabelled', () => {
    const width = 10;
    const height = 1;
    const mask = Uint8Array.from([1, 1, 1, 0, 1, 1, 0, 0, 0, 0]);
    const markers = new Uint32Array(width);
    markers[0] = 7;
    const labels = markerWatershed({ width, height, elevation: new Float32Array(width), markers, mask, connectivity: 4 });
    expect(Array.from(labels)).toEqual([7, 7, 7, 0, 0, 0, 0, 0, 0, 0]);
  });
});
