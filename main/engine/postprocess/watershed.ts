// Marker-based watershed on a 2D grid: separates touching objects of one class when the model has a boundary
// (or distance) head. Markers grow into the foreground in order of rising elevation, so two objects meet along
// the ridge the boundary head predicted instead of merging.

export interface WatershedInput {
  width: number;
  height: number;
  /** Lower floods first; values are expected in [0, 1] (they are quantised to 256 levels). */
  elevation: Float32Array;
  /** Seed ids (> 0), 0 = no seed. */
  markers: Uint32Array;
  /** 1 where pixels may be claimed by a marker. */
  mask: Uint8Array;
  connectivity?: 4 | 8;
}

/** Returns a label per pixel: the id of the marker that reached it, 0 outside the mask or where none reached. */
export function markerWatershed(input: WatershedInput): Uint32Array {
  const { width, height, elevation, markers, mask } = input;
  const n = width * height;
  const labels = new Uint32Array(n);
  const levels = 256;
  // Bucket queue: one FIFO per quantised elevation level; FIFO order keeps plateaus split evenly.
  const buckets: number[][] = Array.from({ length: levels }, () => []);
  const heads = new Int32Array(levels);
  const queued = new Uint8Array(n);
  const level = (i: number) => {
    const e = elevation[i]!;
    return e <= 0 ? 0 : e >= 1 ? levels - 1 : Math.floor(e * (levels - 1));
  };
  const offsets4 = [
    [1, 0],
    [-1, 0],
    [0, 1],
    [0, -1],
  ];
  const offsets8 = [...offsets4, [1, 1], [1, -1], [-1, 1], [-1, -1]];
  const offsets = input.connectivity === 4 ? offsets4 : offsets8;

  for (let i = 0; i < n; i++) {
    if (markers[i]! > 0 && mask[i]) {
      labels[i] = markers[i]!;
      queued[i] = 1;
      buckets[level(i)]!.push(i);
    }
  }
  let current = 0;
  while (current < levels) {
    const bucket = buckets[current]!;
    if (heads[current]! >= bucket.length) {
      current++;
      continue;
    }
    const i = bucket[heads[current]!]!;
    heads[current]!++;
    const x = i % width;
    const y = (i - x) / width;
    const id = labels[i]!;
    for (const [dx, dy] of offsets) {
      const nx = x + dx!;
      const ny = y + dy!;
      if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
      const j = ny * width + nx;
      if (queued[j] || !mask[j]) continue;
      queued[j] = 1;
      labels[j] = id;
      // A neighbour lower than the current level is flooded now (at the current level), never in the past.
      const l = Math.max(level(j), current);
      buckets[l]!.push(j);
    }
  }
  return labels;
}
