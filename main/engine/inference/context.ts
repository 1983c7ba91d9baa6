// 2.5D input: a 2D model that also sees its neighbours. With `input.contextSlices: k` in the manifest, the model
// input of slice z is the normalised slices z-k .. z+k one after another, each with all of the image's model
// channels (so channel j*C + c is channel c of slice z-k+j); slices beyond either end of the stack repeat the
// end slice, as the training script clamps them. A 2D raster (depth 1) gets its one plane 2k+1 times.

/** Model input channels of a 2.5D model reading `imageChannels` channels with `context` neighbours per side. */
export function contextChannels(imageChannels: number, context: number): number {
  return imageChannels * (2 * context + 1);
}

/**
 * Returns stack(z) for z = 0, 1, 2 ... in order: the 2.5D input of slice z built from `sliceAt(z')`, each
 * normalised slice computed once and kept only while a later stack still needs it.
 */
export function contextStacker(sliceAt: (z: number) => Float32Array, depth: number, context: number): (z: number) => Float32Array {
  if (context === 0) return sliceAt;
  const kept = new Map<number, Float32Array>();
  const get = (z: number): Float32Array => {
    let s = kept.get(z);
    if (!s) {
      s = sliceAt(z);
      kept.set(z, s);
    }
    return s;
  };
  return (z) => {
    const parts: Float32Array[] = [];
    for (let o = -context; o <= context; o++) parts.push(get(Math.min(depth - 1, Math.max(0, z + o))));
    for (const k of [...kept.keys()]) if (k < z - context) kept.delete(k);
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
}
