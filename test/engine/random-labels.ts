// Random label rasters for the streaming tests: a seeded generator, discs and rectangles drawn later over earlier
// (so shapes touch, overlap and get cut in pieces) and speckle with nodata. Deterministic, so a failure reproduces.

/** Linear congruential generator (glibc's constants) giving [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
}

/**
 * `count` discs and rectangles (30 %) of radius minPx + rand() * spreadPx, shape k drawn with value(k) (asked before
 * the shape's own draws, so a value that takes from `rand` keeps the sequence).
 */
export function drawShapes(out: Uint8Array | Uint16Array, W: number, H: number, count: number, rand: () => number, value: (k: number) => number, [minPx, spreadPx]: [number, number]): void {
  for (let k = 0; k < count; k++) {
    const v = value(k);
    const cx = rand() * W;
    const cy = rand() * H;
    const r = minPx + rand() * spreadPx;
    const rect = rand() < 0.3;
    for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(H - 1, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(W - 1, Math.ceil(cx + r)); x++) {
        if (rect || (x - cx) ** 2 + (y - cy) ** 2 <= r * r) out[y * W + x] = v;
      }
    }
  }
}

/** Speckle: each pixel with u = rand() below classBelow gets a random class 1..3; below nodataBelow, 255. */
export function speckle(out: Uint8Array, rand: () => number, classBelow: number, nodataBelow: number): void {
  for (let i = 0; i < out.length; i++) {
    const u = rand();
    if (u < classBelow) out[i] = 1 + Math.floor(rand() * 3);
    else if (u < nodataBelow) out[i] = 255;
  }
}
