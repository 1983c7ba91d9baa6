// Opens any supported input (by content, then extension) as the engine's one image model.
// Every user-facing failure (missing file, empty folder, not an image, corrupt data) is an InputError: one line.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InputError, allocPixels, lerpSamples, type ImageSource, type PixelBlock, type Region } from '../image';
import type { OpenOptions } from '../service';
import { openSharp, pixelGeometry } from './raster-sharp';
import { GeoTiffFormatError, openGeoTiff } from './geotiff';
import { openNifti } from './nifti';
import { firstLine, resolveRegion } from './region';
import { isDicomFile, openDicom } from './dicom';

export type DetectedFormat = 'png' | 'jpeg' | 'tiff' | 'nifti' | 'dicom' | 'gzip' | 'unknown';

const SUPPORTED = 'DICOM, PNG, JPEG, TIFF/GeoTIFF, NIfTI (.nii, .nii.gz), a DICOM folder or a folder of numbered slice images';

/** Format from the first bytes of a file (at least 348 for NIfTI, 132 for DICOM). */
export function detectFormat(head: Uint8Array): DetectedFormat {
  const b = (i: number): number => head[i] ?? -1;
  // DICOM first: its 128-byte preamble may itself hold a TIFF header (dual-personality files).
  if (b(128) === 0x44 && b(129) === 0x49 && b(130) === 0x43 && b(131) === 0x4d) return 'dicom';
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return 'png';
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'jpeg';
  // Classic TIFF (42) and BigTIFF (43), both byte orders.
  if (b(0) === 0x49 && b(1) === 0x49 && (b(2) === 42 || b(2) === 43) && b(3) === 0) return 'tiff';
  if (b(0) === 0x4d && b(1) === 0x4d && b(2) === 0 && (b(3) === 42 || b(3) === 43)) return 'tiff';
  if (b(0) === 0x1f && b(1) === 0x8b) return 'gzip';
  if (head.length >= 348) {
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const size = view.getInt32(0, true);
    const sizeBE = view.getInt32(0, false);
    const magic = String.fromCharCode(b(344), b(345), b(346));
    if ((size === 348 || sizeBE === 348) && (magic === 'n+1' || magic === 'ni1')) return 'nifti';
    if ((size === 540 || sizeBE === 540) && String.fromCharCode(b(4), b(5), b(6)) === 'n+2') return 'nifti';
  }
  return 'unknown';
}

async function readHead(file: string, length: number): Promise<Uint8Array> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function isNiftiName(file: string): boolean {
  return /\.nii(\.gz)?$/i.test(file);
}

export async function openImage(file: string, options: OpenOptions = {}): Promise<ImageSource> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(file, code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file or folder' : `cannot open (${code ?? firstLine(err)})`);
  }
  if (stat.isDirectory()) {
    if (await holdsDicom(file)) return openDicom(file, dicomOptions(options));
    // A parent of series folders (patient/study/series, as PACS exports and CDs nest them): the DICOM reader walks
    // the tree and opens the chosen (or largest) series; a folder of numbered slices stays a slice stack.
    if (!(await holdsSliceImages(file)) && (await holdsDicomBelow(file))) return openDicom(file, dicomOptions(options));
    return openSliceFolder(file, options);
  }
  if (!stat.isFile()) throw new InputError(file, 'not a regular file');
  if (stat.size === 0) throw new InputError(file, 'empty file');
  let head: Uint8Array;
  try {
    head = await readHead(file, 544);
  } catch (err) {
    throw new InputError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? firstLine(err)})`);
  }
  return openDetected(file, detectFormat(head), options);
}

async function openDetected(file: string, format: DetectedFormat, options: OpenOptions): Promise<ImageSource> {
  switch (format) {
    case 'png':
      return openSharp(file, { format: 'png', ...spacing(options) });
    case 'jpeg':
      return openSharp(file, { format: 'jpeg', ...spacing(options) });
    case 'tiff':
      try {
        return await openGeoTiff(file, spacing(options));
      } catch (err) {
        // geotiff.js lacks some codecs libvips has (e.g. old-style JPEG): give sharp a try before failing, unless
        // the file is georeferenced (sharp would open it without its georeferencing).
        if (err instanceof GeoTiffFormatError) throw err;
        try {
          return await openSharp(file, { format: 'tiff', ...spacing(options) });
        } catch {
          throw err;
        }
      }
    case 'nifti':
      return openNifti(file);
    case 'gzip':
      if (isNiftiName(file)) return openNifti(file);
      throw new InputError(file, `gzip data that is not named .nii.gz; supported: ${SUPPORTED}`);
    case 'dicom':
      return openDicom(file, dicomOptions(options));
    case 'unknown':
      // DICOM without the Part 10 preamble (old exports) has no magic: let the DICOM parser judge.
      if (await isDicomFile(file)) return openDicom(file, dicomOptions(options));
      if (isNiftiName(file)) throw new InputError(file, 'not a valid NIfTI file (bad header)');
      if (/\.(png|jpe?g|tiff?)$/i.test(file)) throw new InputError(file, `not a valid ${path.extname(file).slice(1).toUpperCase()} file (bad signature)`);
      throw new InputError(file, `not a supported image; supported: ${SUPPORTED}`);
  }
}

function dicomOptions(options: OpenOptions): { seriesUid?: string; allowGaps?: boolean } {
  return {
    ...(options.seriesUid ? { seriesUid: options.seriesUid } : {}),
    ...(options.allowGaps ? { allowGaps: true } : {}),
  };
}

/** A folder is a DICOM folder when it has a DICOMDIR or one of its first files is DICOM (PACS exports have no extensions). */
/** Whether a folder is a DICOM series (or DICOMDIR) rather than a folder of ordinary images. */
export async function holdsDicom(dir: string): Promise<boolean> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  const files = entries.filter((e) => e.isFile() && !e.name.startsWith('.'));
  if (files.some((e) => e.name.toUpperCase() === 'DICOMDIR')) return true;
  // Numbered PNG/JPEG/TIFF slices are not DICOM; only probe the others.
  const candidates = files.filter((e) => !SLICE_EXT.test(e.name)).slice(0, 16);
  for (const e of candidates) if (await isDicomFile(path.join(dir, e.name))) return true;
  return false;
}

async function holdsSliceImages(dir: string): Promise<boolean> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names.some((n) => SLICE_EXT.test(n) && !n.startsWith('.'));
}

/** Whether a subfolder (up to `depth` levels down) holds DICOM: looks at no more than 64 folders. */
export async function holdsDicomBelow(dir: string, depth = 4): Promise<boolean> {
  const queue: Array<[string, number]> = [[dir, 0]];
  let visited = 0;
  while (queue.length > 0 && visited < 64) {
    const [d, level] = queue.shift()!;
    visited++;
    if (level > 0 && (await holdsDicom(d))) return true;
    if (level >= depth) continue;
    const entries = await fs.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) if (e.isDirectory() && !e.name.startsWith('.')) queue.push([path.join(d, e.name), level + 1]);
  }
  return false;
}

function spacing(options: OpenOptions): { spacingMm?: number[] } {
  return options.spacingMm ? { spacingMm: options.spacingMm } : {};
}

// ---------------------------------------------------------------- folders of numbered slices

const SLICE_EXT = /\.(png|jpe?g|tiff?)$/i;
const MASK_NAME = /[_-](mask|label|labels|seg)\.[^.]+$/i;

/** Natural order: "2_image" before "10_image"; the first number in the name decides, then the name. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });
}

/** A run of missing slice numbers in a stack: after `after` and before `before`, `missing` slices. */
export interface SliceNumberGap {
  after: string;
  before: string;
  missing: number;
}

/**
 * Missing numbers in a sorted list of slice file names: the one number that varies from name to name (the slice
 * index in "TCGA_CS_4941_19960909_12.tif" or "IM-0001-0012.png") advances by its smallest step, and a larger step
 * (a whole multiple of it) leaves slices out. Nothing when the names do not carry one such number (no digits, a
 * different count of numbers, several that vary, steps that are not multiples).
 */
export function sliceNumberGaps(names: readonly string[]): SliceNumberGap[] {
  if (names.length < 3) return [];
  const numbers = names.map((n) => (n.match(/\d+/g) ?? []).map(Number));
  const count = numbers[0]!.length;
  if (count === 0 || numbers.some((v) => v.length !== count)) return [];
  const varying = Array.from({ length: count }, (_, i) => i).filter((i) => numbers.some((v) => v[i] !== numbers[0]![i]));
  if (varying.length !== 1) return [];
  const idx = numbers.map((v) => v[varying[0]!]!);
  const steps = idx.slice(1).map((v, i) => v - idx[i]!);
  if (steps.some((d) => d <= 0)) return [];
  const step = Math.min(...steps);
  if (steps.some((d) => d % step !== 0)) return [];
  const gaps: SliceNumberGap[] = [];
  steps.forEach((d, i) => {
    if (d > step) gaps.push({ after: names[i]!, before: names[i + 1]!, missing: d / step - 1 });
  });
  return gaps;
}

async function openSliceFolder(dir: string, options: OpenOptions): Promise<ImageSource> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    throw new InputError(dir, `cannot list folder (${(err as NodeJS.ErrnoException).code ?? firstLine(err)})`);
  }
  // Masks sit beside images in many datasets (001_mask.png): they are not slices of the image.
  const slices = names.filter((n) => SLICE_EXT.test(n) && !MASK_NAME.test(n) && !n.startsWith('.') && /\d/.test(n)).sort(naturalCompare);
  if (slices.length === 0) throw new InputError(dir, 'folder has no numbered slice images (PNG, JPEG or TIFF)');
  const files = slices.map((n) => path.join(dir, n));
  const opened: ImageSource[] = [];
  try {
    for (const f of files) opened.push(await openImage(f, options));
  } catch (err) {
    await Promise.all(opened.map((s) => s.close()));
    throw err;
  }
  const first = opened[0]!;
  for (const s of opened) {
    if (s.width !== first.width || s.height !== first.height || s.channels !== first.channels || s.dtype !== first.dtype || s.depth !== 1) {
      await Promise.all(opened.map((o) => o.close()));
      throw new InputError(
        s.file,
        `slice is ${s.width}x${s.height}x${s.depth}, ${s.channels} channel(s) ${s.dtype}; ${path.basename(first.file)} is ${first.width}x${first.height}, ${first.channels} channel(s) ${first.dtype}`,
      );
    }
  }
  const { width, height, channels, dtype } = first;
  // A missing slice number leaves a plane out: each file goes to the plane its number says and the missing planes
  // are interpolated between their neighbours (as a DICOM series opened with slices missing), so distances and
  // volumes across the gap keep their length; the run's warning says which planes are interpolated.
  const gaps = sliceNumberGaps(slices);
  // No more planes made up than there are files (slice_1, slice_2, slice_900 is not 897 lost slices): else stacked.
  const fills = gaps.reduce((n, g) => n + g.missing, 0) <= slices.length;
  const planeOf: number[] = [0];
  const filledPlanes: number[] = [];
  for (let i = 1; i < slices.length; i++) {
    const gap = fills ? gaps.find((g) => g.before === slices[i]) : undefined;
    const skip = gap ? gap.missing : 0;
    for (let m = 1; m <= skip; m++) filledPlanes.push(planeOf[i - 1]! + m);
    planeOf.push(planeOf[i - 1]! + 1 + skip);
  }
  const depth = planeOf[planeOf.length - 1]! + 1;
  const fileOfPlane = new Map(planeOf.map((p, i) => [p, i]));

  async function readPlane(z: number, r: { x: number; y: number; width: number; height: number; channels: number[] }): Promise<PixelBlock['data']> {
    const own = fileOfPlane.get(z);
    if (own !== undefined) return (await opened[own]!.read(r)).data;
    // Between the nearest files below and above (a gap never starts or ends the stack).
    let below = z - 1;
    while (!fileOfPlane.has(below)) below--;
    let above = z + 1;
    while (!fileOfPlane.has(above)) above++;
    const a = (await opened[fileOfPlane.get(below)!]!.read(r)).data;
    const b = (await opened[fileOfPlane.get(above)!]!.read(r)).data;
    const out = allocPixels(dtype, a.length);
    lerpSamples(a, b, (z - below) / (above - below), out);
    return out;
  }

  async function read(region: Region = {}): Promise<PixelBlock> {
    const r = resolveRegion(region, width, height, depth, channels, dir);
    const plane = r.width * r.height;
    const out = allocPixels(dtype, plane * r.depth * r.channels.length);
    for (let z = 0; z < r.depth; z++) {
      const data = await readPlane(r.z + z, { x: r.x, y: r.y, width: r.width, height: r.height, channels: r.channels });
      for (let ci = 0; ci < r.channels.length; ci++) {
        out.set(data.subarray(ci * plane, (ci + 1) * plane), (ci * r.depth + z) * plane);
      }
    }
    return { data: out, width: r.width, height: r.height, depth: r.depth, channels: r.channels.length, dtype };
  }

  return {
    file: dir,
    format: 'stack',
    kind: 'image',
    width,
    height,
    depth,
    channels,
    dtype,
    geometry: pixelGeometry(options.spacingMm),
    meta: { sliceFormat: first.format, firstSlice: slices[0], lastSlice: slices[slices.length - 1], ...(gaps.length ? { sliceNumberGaps: gaps } : {}), ...(filledPlanes.length ? { filledPlanes } : {}) },
    read,
    close: async () => {
      await Promise.all(opened.map((s) => s.close()));
    },
  };
}
