// Geometry the shape tools need before a path becomes an edit operation: tidying clicked or dragged points, and
// finding which object a drawn line crosses. Pure functions (image pixel coordinates).
import type { ResultSlice } from '../../preload/api';

export type Point = [number, number];

/** Drops points closer than minStep to the one kept before them (a double-click adds the same vertex twice). */
export function tidyPath(points: readonly Point[], minStep: number, max = 8192): Point[] {
  const out: Point[] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (!last || Math.hypot(p[0] - last[0], p[1] - last[1]) >= minStep) out.push([p[0], p[1]]);
  }
  if (out.length <= max) return out;
  // Too many points (a very long lasso): keep every k-th, and the last.
  const k = Math.ceil(out.length / max);
  const thin = out.filter((_, i) => i % k === 0);
  return thin.length < max ? [...thin, out[out.length - 1]!] : thin;
}

/** A closed path needs three distinct vertices and some area. */
export function isFillable(points: readonly Point[]): boolean {
  if (points.length < 3) return false;
  let area2 = 0;
  for (let i = 0; i < points.length; i++) {
    const a = points[i]!;
    const b = points[(i + 1) % points.length]!;
    area2 += a[0] * b[1] - b[0] * a[1];
  }
  return Math.abs(area2) > 1e-6;
}

/** Instance id at image pixel (x, y) of the slice shown, from the preview map (0 = none). */
export function instanceAtPoint(slice: ResultSlice | null, x: number, y: number): number {
  if (!slice) return 0;
  const mx = Math.floor(x / slice.scaleX);
  const my = Math.floor(y / slice.scaleY);
  if (mx < 0 || my < 0 || mx >= slice.width || my >= slice.height) return 0;
  return slice.instances[my * slice.width + mx] ?? 0;
}

/** The object a line crosses most (sampled every half pixel along it), 0 when it crosses none. */
export function instanceUnderLine(slice: ResultSlice | null, line: readonly Point[]): number {
  const counts = new Map<number, number>();
  for (let k = 0; k + 1 < line.length; k++) {
    const [ax, ay] = line[k]!;
    const [bx, by] = line[k + 1]!;
    const n = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) * 2));
    for (let i = 0; i <= n; i++) {
      const id = instanceAtPoint(slice, ax + ((bx - ax) * i) / n, ay + ((by - ay) * i) / n);
      if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  let best = 0;
  let bestCount = 0;
  for (const [id, c] of counts) if (c > bestCount) [best, bestCount] = [id, c];
  return best;
}
