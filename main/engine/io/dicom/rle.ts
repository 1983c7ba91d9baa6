// DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, one PackBits segment per byte plane,
// most significant byte plane first for each sample. Output is planar by sample.

export function decodeRle(
  data: Uint8Array,
  pixelCount: number,
  samplesPerPixel: number,
  bytesPerSample: number,
): Uint8Array | Uint16Array | Uint32Array {
  if (data.length < 64) throw new Error('RLE frame shorter than its 64-byte header');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const segmentCount = view.getUint32(0, true);
  if (segmentCount !== samplesPerPixel * bytesPerSample) {
    throw new Error(`RLE frame has ${segmentCount} segments, expected ${samplesPerPixel * bytesPerSample}`);
  }
  const out =
    bytesPerSample === 1
      ? new Uint8Array(pixelCount * samplesPerPixel)
      : bytesPerSample === 2
        ? new Uint16Array(pixelCount * samplesPerPixel)
        : new Uint32Array(pixelCount * samplesPerPixel);
  const plane = new Uint8Array(pixelCount);
  for (let seg = 0; seg < segmentCount; seg++) {
    const start = view.getUint32(4 + seg * 4, true);
    const next = seg + 1 < segmentCount ? view.getUint32(8 + seg * 4, true) : data.length;
    const end = Math.min(next, data.length);
    if (start < 64 || start > end) throw new Error('RLE segment offset out of range');
    plane.fill(0);
    let i = start;
    let o = 0;
    while (i < end && o < pixelCount) {
      const n = (data[i++] ?? 0) << 24 >> 24; // signed header byte
      if (n >= 0) {
        const count = Math.min(n + 1, pixelCount - o, end - i);
        plane.set(data.subarray(i, i + count), o);
        i += n + 1;
        o += count;
      } else if (n !== -128) {
        const count = Math.min(1 - n, pixelCount - o);
        plane.fill(data[i++] ?? 0, o, o + count);
        o += count;
      }
    }
    const sample = Math.floor(seg / bytesPerSample);
    const shift = 8 * (bytesPerSample - 1 - (seg % bytesPerSample));
    const base = sample * pixelCount;
    if (bytesPerSample === 1) {
      out.set(plane, base);
    } else {
      for (let p = 0; p < pixelCount; p++) out[base + p] = (out[base + p] ?? 0) + (plane[p] ?? 0) * 2 ** shift;
    }
  }
  return out;
}
