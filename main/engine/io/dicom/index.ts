// DICOM reader: opens a file, a folder (several series: the chosen or the largest), a DICOMDIR or a list of files
// as one ImageSource. Headers are read up front (cheap); pixels are decoded on the first read() and cached.
// Errors are InputErrors naming the file and the problem; none carries a patient name or ID.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DType, MedicalGeometry, Vec3 } from '../../../../preload/formats';
import { BYTES_PER_SAMPLE, allocPixels, InputError, lerpSamples, type ImageSource, type PixelArray, type PixelBlock, type Region } from '../../image';
import { dicomDirReferencedFiles } from './dicomdir';
import { readFileHeader, type DicomFileHeader } from './header';
import { isDicomFile, parseFile, parseHeader } from './parse';
import { openFrameReader, outputDType, undecodableReason, writeFrame, type FrameReader } from './pixels';
import { assembleSeries, describeVolume, groupBySeries, seriesUidOfKey, SeriesProblem, type AssembledSeries, type SeriesGroup } from './series';
import { describeSyntax, transferSyntax } from './tags';
import { checkDecodedSize } from '../limits';

export { isDicomFile } from './parse';
export { CT_WINDOW_PRESETS, type WindowPreset } from './presets';

export interface DicomOpenOptions {
  /** SeriesInstanceUID to open when the input holds several series (default: the one with the most voxels). */
  seriesUid?: string;
  /** Open series with missing slices or uneven spacing anyway (the metadata says so). */
  allowGaps?: boolean;
}

/** One entry of `meta.series` and of listDicomSeries(). */
export interface DicomSeriesSummary {
  uid: string;
  description?: string;
  modality?: string;
  /** Number of slices (frames) in the series. */
  slices: number;
  /** [width, height, depth] in voxels. */
  size: [number, number, number];
  transferSyntax: string;
}

/** How many files are parsed at once: enough to overlap disk reads, few enough for 2 cores. */
const HEADER_CONCURRENCY = 8;

interface ScanResult {
  headers: DicomFileHeader[];
  /** Files that are not DICOM or could not be parsed, with the reason (folder scans skip them). */
  skipped: InputError[];
}

/** Every file under `folder`, recursively, in name order (hidden files left out). */
async function walk(folder: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch {
    throw new InputError(folder, 'cannot read the folder');
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(folder, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && !e.name.startsWith('.')) out.push(p);
  }
}

async function scanFiles(paths: string[], quiet: boolean): Promise<ScanResult> {
  const headers: (DicomFileHeader | undefined)[] = new Array(paths.length);
  const skipped: InputError[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const i = next++;
      const p = paths[i] as string;
      try {
        if (quiet && !(await isDicomFile(p))) {
          skipped.push(new InputError(p, 'not a DICOM file'));
          continue;
        }
        headers[i] = readFileHeader(p, await parseHeader(p));
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        skipped.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(HEADER_CONCURRENCY, paths.length) }, worker));
  return { headers: headers.filter((h): h is DicomFileHeader => h !== undefined), skipped };
}

/** Files a DICOMDIR references (only those that exist). */
async function dicomDirFiles(path: string): Promise<string[]> {
  const parsed = await parseFile(path);
  const refs = dicomDirReferencedFiles(path, parsed.dataSet);
  const existing: string[] = [];
  for (const r of refs) {
    try {
      if ((await stat(r)).isFile()) existing.push(r);
    } catch {
      // A DICOMDIR often lists files that were not copied; the scan reports what is missing by absence.
    }
  }
  return existing;
}

function summarize(group: SeriesGroup): DicomSeriesSummary {
  const f = group.slices[0]?.file as DicomFileHeader;
  const summary: DicomSeriesSummary = {
    uid: group.uid,
    slices: group.slices.length,
    size: [f.columns, f.rows, group.slices.length],
    transferSyntax: f.transferSyntaxUid,
  };
  const description = describeVolume(f.seriesDescription, group.volume);
  if (description) summary.description = description;
  if (f.modality) summary.modality = f.modality;
  return summary;
}

/** Resolves the input to headers, following a DICOMDIR; a single plain file must parse or its error is thrown. */
async function collect(input: string | string[]): Promise<{ label: string; scan: ScanResult; single?: DicomFileHeader }> {
  if (Array.isArray(input)) {
    if (input.length === 0) throw new InputError('(no files)', 'no DICOM files given');
    return { label: input[0] as string, scan: await scanFiles(input, false) };
  }
  let isDir: boolean;
  try {
    isDir = (await stat(input)).isDirectory();
  } catch {
    throw new InputError(input, 'no such file or folder');
  }
  if (isDir) {
    const files: string[] = [];
    await walk(input, files);
    return { label: input, scan: await scanFiles(files, true) };
  }
  const header = readFileHeader(input, await parseHeader(input));
  if (header.isDicomDir) {
    const files = await dicomDirFiles(input);
    if (files.length === 0) throw new InputError(input, 'DICOMDIR references no image files that exist next to it (no pixel data)');
    return { label: input, scan: await scanFiles(files, false) };
  }
  return { label: input, scan: { headers: [header], skipped: [] }, single: header };
}

function noPixelDataError(label: string, headers: DicomFileHeader[], skipped: InputError[]): InputError {
  if (headers.length === 0) {
    if (skipped.length === 1 && skipped[0]) return skipped[0];
    return new InputError(label, skipped.length > 0 ? `no readable DICOM files (${skipped.length} skipped)` : 'no DICOM files found');
  }
  const kinds = [...new Set(headers.map((h) => (h.isDicomDir ? 'DICOMDIR' : (h.modality ?? 'unknown'))))].slice(0, 5).join(', ');
  return new InputError(label, `no pixel data (${headers.length === 1 ? 'a' : headers.length} non-image DICOM object${headers.length === 1 ? '' : 's'}: ${kinds})`);
}

/** Lists the image series in a folder, DICOMDIR, file or file list, largest first. */
export async function listDicomSeries(input: string | string[]): Promise<DicomSeriesSummary[]> {
  const { scan } = await collect(input);
  return groupBySeries(scan.headers)
    .map(summarize)
    .sort((a, b) => b.size[0] * b.size[1] * b.size[2] - a.size[0] * a.size[1] * a.size[2]);
}

export async function openDicom(input: string | string[], options: DicomOpenOptions = {}): Promise<ImageSource> {
  const { label, scan, single } = await collect(input);
  if (single && !single.pixel) {
    throw new InputError(label, undecodableReason(single) ?? `no pixel data (${single.modality ?? 'non-image'} object${single.isDicomDir ? ', a DICOMDIR' : ''})`);
  }
  const groups = groupBySeries(scan.headers);
  if (groups.length === 0) throw noPixelDataError(label, scan.headers, scan.skipped);
  const summaries = groups.map(summarize);
  let candidates: SeriesGroup[];
  if (options.seriesUid) {
    const wanted = groups.find((g) => g.uid === options.seriesUid);
    if (!wanted) throw new InputError(label, `no series with the requested SeriesInstanceUID (${groups.length} series found)`);
    candidates = [wanted];
  } else {
    const voxels = (g: SeriesGroup): number => (g.slices[0]?.file.rows ?? 0) * (g.slices[0]?.file.columns ?? 0) * g.slices.length;
    candidates = [...groups].sort((a, b) => voxels(b) - voxels(a));
  }
  // Without an explicit choice, open the largest series that can be opened; say which were passed over and why.
  const passedOver: { uid: string; problem: string }[] = [];
  let firstError: InputError | undefined;
  for (const chosen of candidates) {
    try {
      const { assembled, firstFile } = prepareSeries(label, chosen, options);
      const source = new DicomSeriesSource(label, firstFile, assembled, summaries, chosen.uid, scan.skipped.length);
      if (chosen.volume) source.meta.seriesVolume = chosen.volume;
      if (passedOver.length > 0) source.meta.seriesNotOpened = passedOver;
      return source;
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      firstError ??= e;
      passedOver.push({ uid: chosen.uid, problem: e.message.slice(e.file.length + 2) });
    }
  }
  throw firstError ?? noPixelDataError(label, scan.headers, scan.skipped);
}

function prepareSeries(label: string, chosen: SeriesGroup, options: DicomOpenOptions): { assembled: AssembledSeries; firstFile: DicomFileHeader } {
  const firstFile = chosen.slices[0]?.file as DicomFileHeader;
  // Refuse undecodable series now, so `info` and `open` fail the same way.
  for (const f of new Set(chosen.slices.map((s) => s.file))) {
    const reason = undecodableReason(f);
    if (reason) throw new InputError(f.path, reason);
  }
  try {
    return { assembled: assembleSeries(chosen, options.allowGaps === true), firstFile };
  } catch (e) {
    if (e instanceof SeriesProblem) throw new InputError(label, `series ${chosen.slices.length > 1 ? `of ${chosen.slices.length} slices ` : ''}cannot be opened: ${e.message}`);
    throw e;
  }
}

/** One acquired slice of an opened DICOM volume: the file, its frame (from 0), and the plane it went to. */
export interface DicomPlaneRef {
  path: string;
  sopInstanceUid?: string;
  sopClassUid?: string;
  frameIndex: number;
  /** Frames in that file: above 1, an enhanced (multi-frame) image. */
  frames: number;
  z: number;
  positionMm?: Vec3;
}

/**
 * The acquired slices an opened DICOM source was made of, in plane order (filled planes have none), or undefined
 * for a source that is not a DICOM series. What a DICOM SEG or RT Structure Set must reference, exactly.
 */
export function dicomPlanesOf(src: ImageSource): DicomPlaneRef[] | undefined {
  if (!(src instanceof DicomSeriesSource)) return undefined;
  return src.planes();
}

class DicomSeriesSource implements ImageSource {
  readonly format = 'dicom';
  readonly kind = 'medical' as const;
  readonly width: number;
  readonly height: number;
  readonly depth: number;
  readonly channels: number;
  readonly dtype: DType;
  readonly geometry: MedicalGeometry;
  /** Mutable only while openDicom builds it. */
  readonly meta: Record<string, unknown>;
  /** The first slice's file: where the header over the views reads the patient attributes (never into meta). */
  readonly firstFile: string;
  private volume: Promise<PixelArray> | undefined;

  constructor(
    readonly file: string,
    first: DicomFileHeader,
    private readonly series: AssembledSeries,
    summaries: DicomSeriesSummary[],
    seriesUid: string,
    skippedFiles: number,
  ) {
    this.width = first.columns;
    this.height = first.rows;
    this.depth = series.depth;
    this.channels = first.samplesPerPixel;
    this.dtype = outputDType(first, series.slices.map((s) => s.frame));
    this.geometry = series.geometry;
    this.firstFile = series.slices[0]?.file.path ?? first.path;
    const syntaxes = [...new Set(series.slices.map((s) => s.file.transferSyntaxUid))];
    const rescale = series.slices[0]?.frame;
    const meta: Record<string, unknown> = {
      modality: first.modality ?? null,
      transferSyntax: syntaxes.length === 1 ? syntaxes[0] : syntaxes,
      transferSyntaxName: syntaxes.map((u) => transferSyntax(u).name).join(', '),
      seriesInstanceUid: seriesUidOfKey(seriesUid) ?? null,
      seriesDescription: first.seriesDescription ?? null,
      windowCenter: first.windowCenter ?? null,
      windowWidth: first.windowWidth ?? null,
      photometric: first.photometric,
      // MONOCHROME1: values kept as stored (modality values); low values display bright.
      invertForDisplay: first.photometric === 'MONOCHROME1',
      rescaleSlope: rescale?.rescaleSlope ?? 1,
      rescaleIntercept: rescale?.rescaleIntercept ?? 0,
      files: new Set(series.slices.map((s) => s.file.path)).size,
      sortedByPosition: series.sortedByPosition,
    };
    if (first.samplesPerPixel === 3) meta.colorSpace = 'RGB';
    if (first.photometric === 'PALETTE COLOR') meta.paletteNote = 'palette indices kept as values (no colour lookup applied)';
    if (series.pixelSpacingMissing) meta.pixelSpacingMissing = true;
    if (series.warnings.length > 0) {
      meta.geometryWarnings = series.warnings;
      meta.gapsAccepted = series.warnings.some((w) => /gap|uneven/.test(w));
    }
    if (series.filledPlanes.length > 0) meta.filledPlanes = series.filledPlanes;
    if (series.leftOut) meta.imagesLeftOut = series.leftOut;
    if (summaries.length > 1 || Array.isArray(file) || skippedFiles > 0) meta.series = summaries;
    if (skippedFiles > 0) meta.skippedFiles = skippedFiles;
    this.meta = meta;
  }

  private decodeAll(): Promise<PixelArray> {
    this.volume ??= (async () => {
      const plane = this.width * this.height;
      checkDecodedSize(this.file, `a ${this.width}x${this.height}x${this.depth} series with ${this.channels} channel(s)`, plane * this.depth * this.channels * BYTES_PER_SAMPLE[this.dtype]);
      const out = allocPixels(this.dtype, plane * this.depth * this.channels);
      // Frames of one file are read through one reader, so a multi-frame file is parsed once.
      const byFile = new Map<DicomFileHeader, { z: number; index: number }[]>();
      this.series.slices.forEach((s, i) => {
        const list = byFile.get(s.file) ?? [];
        list.push({ z: i, index: s.frameIndex });
        byFile.set(s.file, list);
      });
      for (const [fileHeader, frames] of byFile) {
        let reader: FrameReader;
        try {
          reader = await openFrameReader(fileHeader);
        } catch (e) {
          if (e instanceof InputError) throw e;
          throw new InputError(fileHeader.path, `cannot read pixel data (${e instanceof Error ? e.message : String(e)})`);
        }
        for (const { z: i, index } of frames) {
          const slice = this.series.slices[i];
          if (!slice) continue;
          const raw = await reader.frame(index);
          writeFrame(fileHeader, raw, slice.frame, out, this.series.planeOf[i] ?? i, this.depth);
        }
      }
      fillPlanes(out, this.series.filledPlanes, this.width * this.height, this.depth, this.channels);
      return out;
    })();
    this.volume.catch(() => {
      this.volume = undefined;
    });
    return this.volume;
  }

  async read(region: Region = {}): Promise<PixelBlock> {
    const data = await this.decodeAll();
    const x0 = region.x ?? 0;
    const y0 = region.y ?? 0;
    const z0 = region.z ?? 0;
    const w = region.width ?? this.width - x0;
    const h = region.height ?? this.height - y0;
    const d = region.depth ?? this.depth - z0;
    const channels = region.channels ?? Array.from({ length: this.channels }, (_, c) => c);
    if (x0 < 0 || y0 < 0 || z0 < 0 || w < 1 || h < 1 || d < 1 || x0 + w > this.width || y0 + h > this.height || z0 + d > this.depth) {
      throw new RangeError(`region outside the ${this.width}x${this.height}x${this.depth} image`);
    }
    if (channels.some((c) => c < 0 || c >= this.channels)) throw new RangeError(`channel outside 0..${this.channels - 1}`);
    const whole = w === this.width && h === this.height && d === this.depth && channels.length === this.channels && channels.every((c, i) => c === i);
    // The whole volume is handed out without a copy (a CT series is hundreds of MB); callers treat it as read-only.
    if (whole) return { data, width: w, height: h, depth: d, channels: channels.length, dtype: this.dtype };
    const out = allocPixels(this.dtype, w * h * d * channels.length);
    let o = 0;
    channels.forEach((c) => {
      for (let z = z0; z < z0 + d; z++) {
        for (let y = y0; y < y0 + h; y++) {
          const start = ((c * this.depth + z) * this.height + y) * this.width + x0;
          out.set(data.subarray(start, start + w), o);
          o += w;
        }
      }
    });
    return { data: out, width: w, height: h, depth: d, channels: channels.length, dtype: this.dtype };
  }

  async close(): Promise<void> {
    this.volume = undefined;
  }

  planes(): DicomPlaneRef[] {
    return this.series.slices.map((s, i) => ({
      path: s.file.path,
      ...(s.file.sopInstanceUid ? { sopInstanceUid: s.file.sopInstanceUid } : {}),
      ...(s.file.sopClassUid ? { sopClassUid: s.file.sopClassUid } : {}),
      frameIndex: s.frameIndex,
      frames: s.file.numberOfFrames,
      z: this.series.planeOf[i] ?? i,
      ...(s.frame.positionMm ? { positionMm: s.frame.positionMm } : {}),
    }));
  }
}

/**
 * Fills each plane of `planes` (a missing slice) by linear interpolation between the nearest planes below and above
 * that are not filled, weighted by distance; integer types round to the nearest value. Layout: channel, z, y, x.
 */
export function fillPlanes(out: PixelArray, planes: readonly number[], plane: number, depth: number, channels: number): void {
  if (planes.length === 0) return;
  const filled = new Set(planes);
  for (const z of planes) {
    let below = z - 1;
    while (below >= 0 && filled.has(below)) below--;
    let above = z + 1;
    while (above < depth && filled.has(above)) above++;
    if (below < 0 || above >= depth) continue; // never at an end: the series starts and ends on acquired slices
    const w = (z - below) / (above - below);
    for (let c = 0; c < channels; c++) {
      const at = (k: number): PixelArray => out.subarray((c * depth + k) * plane, (c * depth + k + 1) * plane);
      lerpSamples(at(below), at(above), w, at(z));
    }
  }
}

/** Names a transfer syntax for messages ("JPEG Baseline (Process 1) (1.2.840.10008.1.2.4.50)"). */
export function transferSyntaxLabel(uid: string): string {
  return describeSyntax(transferSyntax(uid));
}

