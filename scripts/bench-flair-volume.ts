// The 22-slice FLAIR volume the brain benchmarks run on (bench-app-vs-cli.ts, bench-brain.ts): one patient's
// slices from ../shared/data/tumor-lgg-flair written as NIfTI (nominal 0.94 x 0.94 x 5 mm; the data set states no
// geometry) when that folder is there, else a generated FLAIR-like head.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { openImage } from '../main/engine/io';
import { writeNifti } from '../main/engine/io/nifti';

const LGG = path.resolve(process.cwd(), '..', 'shared', 'data', 'tumor-lgg-flair');
const SPACING_MM: [number, number, number] = [0.94, 0.94, 5];

/** One patient's first `n` FLAIR slices (the first patient folder with at least n), as a NIfTI volume. */
export async function volumeFromLgg(dir: string, n: number): Promise<{ file: string; about: string } | null> {
  if (!existsSync(LGG)) return null;
  const patients = readdirSync(LGG).filter((d) => !d.startsWith('.')).sort();
  const images = (p: string): string[] => readdirSync(path.join(LGG, p)).filter((f) => f.endsWith('_image.png')).sort();
  const patient = patients.find((p) => images(p).length === n) ?? patients.find((p) => images(p).length >= n);
  if (!patient) return null;
  // The folder also holds the masks: the slices go to a folder of their own, opened as a stack.
  const stack = path.join(dir, 'slices');
  mkdirSync(stack);
  for (const f of images(patient).slice(0, n)) copyFileSync(path.join(LGG, patient, f), path.join(stack, f));
  const src = await openImage(stack);
  try {
    const block = await src.read({ channels: [0] });
    const file = path.join(dir, `${patient}.nii.gz`);
    await writeNifti(file, { data: block.data, width: src.width, height: src.height, depth: src.depth, channels: 1, geometry: { type: 'pixel', spacingMm: SPACING_MM } });
    return { file, about: `${patient} (../shared/data/tumor-lgg-flair), ${src.width}x${src.height}x${src.depth}` };
  } finally {
    await src.close();
  }
}

/** A FLAIR-like head (scalp, brain, dark ventricles, one bright lesion over a few slices) with noise. */
export async function generatedVolume(dir: string, n: number): Promise<{ file: string; about: string }> {
  const size = 256;
  const data = new Uint8Array(size * size * n);
  let seed = 11;
  const noise = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 14;
  const inside = (x: number, y: number, cx: number, cy: number, rx: number, ry: number): boolean => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
  for (let z = 0; z < n; z++) {
    const k = 1 - Math.abs(z - n / 2) / n;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let v = 0;
        if (inside(x, y, 128, 128, 100 * k, 118 * k)) v = 150;
        if (inside(x, y, 128, 128, 92 * k, 110 * k)) v = 95;
        if (inside(x, y, 115, 120, 8, 22) || inside(x, y, 141, 120, 8, 22)) v = v ? 40 : 0;
        if (Math.abs(z - n / 2) < n / 5 && inside(x, y, 170, 90, 20, 16)) v = 210;
        data[(z * size + y) * size + x] = v === 0 ? 0 : Math.max(1, Math.min(255, Math.round(v + noise())));
      }
    }
  }
  const file = path.join(dir, 'generated-flair.nii.gz');
  await writeNifti(file, { data, width: size, height: size, depth: n, channels: 1, geometry: { type: 'pixel', spacingMm: SPACING_MM } });
  return { file, about: `generated ${size}x${size}x${n} (../shared/data/tumor-lgg-flair is missing)` };
}

/** The LGG volume when the data are there, else the generated one. */
export async function flairVolume(dir: string, n: number): Promise<{ file: string; about: string }> {
  return (await volumeFromLgg(dir, n)) ?? (await generatedVolume(dir, n));
}
