// Whether a model suits an image, in words a person can act on: the image's kind (patient, map, picture), its
// channels against the model's inputs, and its ground resolution against the one the model was trained at. One
// function, read by the CLI (a warning line per issue), the segmentation paths (instances.json `warnings`), the
// engine service and, through the contract, the model picker (which hides kind and channel mismatches and shows
// the rest before Run). Said in the same places though not about the model: a larger DICOM series of the folder
// that could not be opened, so a run on the scout beside a damaged main series never passes for the main series,
// and slice numbers a stack of slice files skips.
import type { ImageKind, ModelManifest, RunWarning } from '../../../preload/formats';
import type { ImageSource } from '../image';
import type { SliceNumberGap } from '../io/index';
import { planResample } from './resample';

/** Beyond this ratio between the image's resolution and the model's, results are not to be trusted. */
export const RESOLUTION_WARN_FACTOR = 2;

/** What the check reads of a manifest. */
export type ManifestTraits = Pick<ModelManifest, 'id' | 'kinds' | 'input' | 'resolution' | 'modality'>;

/**
 * What the check reads of an image; `grey`: its colour channels were found equal (a grey picture saved as RGB);
 * `seriesNotOpened`: larger DICOM series of the same folder that could not be opened, and why (io/dicom);
 * `sliceNumberGaps`: slice numbers a stack of numbered slice files skips (io/index.ts); `geometryWarnings`: what a
 * DICOM series was opened despite (gaps allowed, uneven spacing, no slice positions; io/dicom/series.ts);
 * `filledPlanes`: the planes of missing slices either filled by interpolation (a DICOM series' only warning is then
 * its gap).
 */
export type ImageTraits = Pick<ImageSource, 'kind' | 'channels' | 'geometry' | 'width' | 'height'> & {
  grey?: boolean;
  seriesNotOpened?: SeriesNotOpened[];
  sliceNumberGaps?: SliceNumberGap[];
  geometryWarnings?: string[];
  filledPlanes?: number[];
  /** Images of the opened DICOM series left out for their size, pixel format or orientation (io/dicom/series.ts). */
  imagesLeftOut?: { count: number; why: string };
  /** The opened DICOM volume, when its series holds several at each position: which one, of how many, and the UID. */
  seriesVolume?: { index: number; of: number; uid: string };
};

/** A series passed over when a folder was opened (ImageSource meta `seriesNotOpened`). */
export interface SeriesNotOpened {
  uid: string;
  problem: string;
}

/** Codes that mean the model does not fit the image at all (the picker does not offer it). */
export const UNFIT_CODES: ReadonlySet<string> = new Set(['kind', 'channels']);

const KIND_NAMES: Record<ImageKind, string> = { medical: 'medical', geo: 'georeferenced', image: 'plain' };

/** "62.5", "2.1", "480": three significant digits, no trailing zeros. */
function formatFactor(f: number): string {
  return String(Number(f.toPrecision(3)));
}

/** A resolution with its unit: "300 m/px", "4.8 m/px", "0.47 mm/px". */
function formatPerPx(v: number, unit: 'm' | 'mm'): string {
  return `${Number(v.toPrecision(3))} ${unit}/px`;
}

/** Every way the model and the image disagree, as warnings (empty: the model suits the image). */
export function checkCompatibility(m: ManifestTraits, image: ImageTraits): RunWarning[] {
  const out: RunWarning[] = [];
  // Not about the model, but every run and the picker must say it: the folder's main series is not what is open.
  for (const s of image.seriesNotOpened ?? []) {
    out.push({ code: 'series', message: `series: a larger series in this folder (${s.uid}) was not opened: ${s.problem}; this is the largest series that could be` });
  }
  if (image.seriesVolume) {
    const { index, of, uid } = image.seriesVolume;
    out.push({ code: 'series', message: `series: this series holds ${of} volumes (${of} images at each slice position: time points, echoes or b-values); volume ${index} of ${of} is open (series ${uid}${index > 1 ? `#${index}` : ''}; the others open as ${uid}#2 to #${of})` });
  }
  if (image.imagesLeftOut) {
    const n = image.imagesLeftOut.count;
    out.push({ code: 'series', message: `series: ${n} image${n > 1 ? 's' : ''} of this series with ${image.imagesLeftOut.why} (a localizer or reformat?) ${n > 1 ? 'were' : 'was'} left out; the volume is made of the images that agree` });
  }
  // Accepted with a note when the series opened (--allow-gaps, no slice positions): the distances rest on a guess,
  // or, where whole missing slices were filled at their positions, what lies on those planes is interpolated.
  const rests = image.filledPlanes?.length ? 'what is outlined and measured on those planes rests on interpolated images' : 'distances and volumes along the slices rest on the usual spacing';
  for (const g of image.geometryWarnings ?? []) out.push({ code: 'series', message: `series: ${g}; ${rests}` });
  const gaps = image.sliceNumberGaps ?? [];
  if (gaps.length > 0) {
    const missing = gaps.reduce((t, g) => t + g.missing, 0);
    const where = gaps.slice(0, 3).map((g) => `${g.missing} between ${g.after} and ${g.before}`).join(', ') + (gaps.length > 3 ? `, and ${gaps.length - 3} more gap(s)` : '');
    const filled = image.filledPlanes ?? [];
    const at = filled.slice(0, 8).join(', ') + (filled.length > 8 ? ` and ${filled.length - 8} more` : '');
    out.push({
      code: 'series',
      message: filled.length
        ? `series: the slice numbers skip ${missing} slice(s) (${where}); filled at their positions by linear interpolation between the neighbouring slices (z = ${at}, zero-based), so distances and volumes across a gap keep their length; what is outlined and measured on those planes rests on interpolated images`
        : `series: the slice numbers skip ${missing} slice(s) (${where}), more than the stack holds, so they were not filled in; slices stack at one spacing, so distances and volumes across a gap come out short`,
    });
  }
  // A plain picture may be anything (a screenshot of a scan, a photo of a map); patient and map data must match.
  if (image.kind !== 'image' && !m.kinds.includes(image.kind)) {
    out.push({
      code: 'kind',
      message: `kind: model "${m.id}" is for ${m.kinds.map((k) => KIND_NAMES[k]).join(' or ')} images; this is a ${KIND_NAMES[image.kind]} image`,
    });
  }
  const need = m.input.channels.length;
  const names = m.input.channels.join(', ');
  if (image.channels < need) {
    out.push({ code: 'channels', message: `channels: model "${m.id}" reads ${need} channels (${names}); the image has ${image.channels}` });
  } else if (need === 1 && image.channels >= 3 && m.modality && !image.grey) {
    // A model of one scanner channel (an MR sequence, CT) on a colour picture would read its red channel only: never
    // what it was trained on. Generic one-band models (no modality) read the first band of anything, as documented.
    out.push({ code: 'channels', message: `channels: model "${m.id}" reads one ${m.modality} channel (${names}); this is a colour image with ${image.channels} channels` });
  }
  const plan = planResample(m.resolution, image.geometry, image.width, image.height);
  if (plan) {
    const imagePerPx = (plan.imagePerPx[0] + plan.imagePerPx[1]) / 2;
    const ratio = imagePerPx / plan.modelPerPx;
    if (ratio > RESOLUTION_WARN_FACTOR || ratio < 1 / RESOLUTION_WARN_FACTOR) {
      const what = plan.unit === 'm' ? 'ground resolution' : 'pixel spacing (resolution)';
      const coarser = ratio > 1;
      const factor = formatFactor(coarser ? ratio : 1 / ratio);
      out.push({
        code: 'resolution',
        message:
          `resolution: the image's ${what} is ${formatPerPx(imagePerPx, plan.unit)}, ${factor}x ${coarser ? 'coarser' : 'finer'} than the ` +
          `${formatPerPx(plan.modelPerPx, plan.unit)} model "${m.id}" was trained at; its results will not be reliable`,
      });
    }
  }
  return out;
}

/** Side of the centre window whose pixels tell a grey picture stored as RGB from a colour one. */
const GREY_PROBE_PX = 256;

/**
 * Whether an image of three or more channels is grey in fact (its first three channels equal over a window at the
 * centre of its middle slice): an MR screenshot saved as RGB is still one channel for a scanner model. Images of
 * fewer than three channels are not asked (undefined).
 */
export async function probeGrey(src: ImageSource): Promise<boolean | undefined> {
  if (src.channels < 3) return undefined;
  const width = Math.min(GREY_PROBE_PX, src.width);
  const height = Math.min(GREY_PROBE_PX, src.height);
  const block = await src.read({ x: Math.floor((src.width - width) / 2), y: Math.floor((src.height - height) / 2), z: Math.floor(src.depth / 2), width, height, depth: 1, channels: [0, 1, 2] });
  const n = width * height;
  const d = block.data;
  for (let i = 0; i < n; i++) if (d[i] !== d[n + i] || d[i] !== d[2 * n + i]) return false;
  return true;
}

/** The image's traits for the check, with `grey` probed only where a one-channel scanner model could hinge on it. */
export async function imageTraits(src: ImageSource, models: readonly ManifestTraits[]): Promise<ImageTraits> {
  const asks = src.channels >= 3 && models.some((m) => m.input.channels.length === 1 && m.modality);
  const grey = asks ? await probeGrey(src) : undefined;
  const passed = seriesNotOpenedOf(src.meta.seriesNotOpened);
  const gaps = Array.isArray(src.meta.sliceNumberGaps) ? (src.meta.sliceNumberGaps as SliceNumberGap[]) : [];
  const geometryWarnings = Array.isArray(src.meta.geometryWarnings) ? src.meta.geometryWarnings.filter((w): w is string => typeof w === 'string') : [];
  const filledPlanes = Array.isArray(src.meta.filledPlanes) ? src.meta.filledPlanes.filter((z): z is number => Number.isInteger(z)) : [];
  const vol = src.meta.seriesVolume as { index?: unknown; of?: unknown } | undefined;
  const seriesVolume = vol && typeof vol.index === 'number' && typeof vol.of === 'number' && typeof src.meta.seriesInstanceUid === 'string' ? { index: vol.index, of: vol.of, uid: src.meta.seriesInstanceUid } : undefined;
  const left = src.meta.imagesLeftOut as { count?: unknown; why?: unknown } | undefined;
  const imagesLeftOut = left && typeof left.count === 'number' && typeof left.why === 'string' ? { count: left.count, why: left.why } : undefined;
  return {
    kind: src.kind,
    channels: src.channels,
    geometry: src.geometry,
    width: src.width,
    height: src.height,
    ...(grey !== undefined ? { grey } : {}),
    ...(passed.length ? { seriesNotOpened: passed } : {}),
    ...(gaps.length ? { sliceNumberGaps: gaps } : {}),
    ...(geometryWarnings.length ? { geometryWarnings } : {}),
    ...(filledPlanes.length ? { filledPlanes } : {}),
    ...(imagesLeftOut ? { imagesLeftOut } : {}),
    ...(seriesVolume ? { seriesVolume } : {}),
  };
}

function seriesNotOpenedOf(v: unknown): SeriesNotOpened[] {
  if (!Array.isArray(v)) return [];
  return v.filter((s): s is SeriesNotOpened => !!s && typeof (s as SeriesNotOpened).uid === 'string' && typeof (s as SeriesNotOpened).problem === 'string');
}

/** Whether these warnings rule the model out for the image (the picker then does not offer it). */
export function isUnfit(warnings: readonly RunWarning[]): boolean {
  return warnings.some((w) => UNFIT_CODES.has(w.code));
}
