// Recursive scan of a folder for DICOM studies and series (Open folder...): PACS exports and CDs nest
// patient/study/series folders, so the folder a person picks is often a parent of many series. Every file is
// probed and its header read (never the pixels), series are grouped under their study, and each gets a small
// thumbnail of its middle image. Progress per file; an AbortSignal stops it between files.

import { readdir } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import type { ScannedSeries, ScannedStudy } from '../../../../preload/api';
import { InputError } from '../../image';
import { renderSlice } from '../../render/slice';
import { readFileHeader, str, type DicomFileHeader } from './header';
import { isDicomFile, parseHeader } from './parse';
import { patientHeaderOf } from './patient';
import { undecodableReason } from './pixels';
import { assembleSeries, describeVolume, groupBySeries, type SeriesGroup } from './series';
import { TAG } from './tags';
import { openDicom } from './index';

/** A scanned series with where its files are (main keeps this; the renderer gets no paths). */
export interface FoundSeries extends ScannedSeries {
  /** The deepest folder holding all of the series' files. */
  dir: string;
}

export interface FoundStudy extends Omit<ScannedStudy, 'series'> {
  series: FoundSeries[];
}

export interface DicomFolderScan {
  studies: FoundStudy[];
  filesScanned: number;
  skippedFiles: number;
}

export interface ScanOptions {
  onProgress?: (p: { stage: string; done: number; total: number }) => void;
  signal?: AbortSignal;
  /** Longest side of a thumbnail (default 64). */
  thumbnailSize?: number;
}

/** Files probed at once: overlaps disk reads without swamping 2 cores. */
const CONCURRENCY = 8;

/** The deepest folder that holds every one of `files`. */
export function commonFolder(files: string[]): string {
  const dirs = files.map((f) => dirname(f).split(sep));
  const first = dirs[0] ?? [];
  let n = first.length;
  for (const d of dirs) {
    let i = 0;
    while (i < n && i < d.length && d[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join(sep) || sep;
}

/**
 * Every file below `folder` in name order (hidden ones left out), listed folder by folder so that a cancel stops it
 * and a large tree (a whole disk picked by mistake) shows its count growing instead of a frozen dialog.
 */
async function listFiles(folder: string, options: ScanOptions): Promise<string[]> {
  const out: string[] = [];
  let lastReported = 0;
  const visit = async (dir: string): Promise<void> => {
    options.signal?.throwIfAborted();
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      // The picked folder itself must be readable; an unreadable subfolder is skipped like an unreadable file.
      if (dir === folder) throw new InputError(folder, 'cannot read the folder');
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) await visit(p);
      else if (e.isFile()) out.push(p);
    }
    if (out.length - lastReported >= 500) {
      lastReported = out.length;
      options.onProgress?.({ stage: 'listing files', done: out.length, total: out.length });
    }
  };
  await visit(folder);
  return out;
}

interface StudyOf {
  uid: string;
  description?: string;
  date?: string;
  patientName?: string;
  patientId?: string;
}

export async function scanDicomFolder(folder: string, options: ScanOptions = {}): Promise<DicomFolderScan> {
  const { signal, onProgress } = options;
  const paths = await listFiles(folder, options);
  const headers: Array<DicomFileHeader | undefined> = new Array(paths.length);
  const studyOfFile = new Map<string, StudyOf>();
  let next = 0;
  let done = 0;
  let skipped = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      signal?.throwIfAborted();
      const i = next++;
      const p = paths[i] as string;
      try {
        if (await isDicomFile(p)) {
          const parsed = await parseHeader(p);
          const header = readFileHeader(p, parsed);
          headers[i] = header;
          const ds = parsed.dataSet;
          const who = patientHeaderOf(ds);
          studyOfFile.set(p, {
            uid: str(ds, TAG.studyInstanceUid) ?? '',
            ...(who.studyDescription ? { description: who.studyDescription } : {}),
            ...(who.studyDate ? { date: who.studyDate } : {}),
            ...(who.patientName ? { patientName: who.patientName } : {}),
            ...(who.patientId ? { patientId: who.patientId } : {}),
          });
          if (!header.pixel && !header.floatPixelData) skipped++;
        } else skipped++;
      } catch (e) {
        // A file that is not DICOM or is damaged is skipped (and counted); only a cancel stops the scan.
        if (!(e instanceof InputError) && e instanceof Error && e.name === 'AbortError') throw e;
        skipped++;
      }
      done++;
      onProgress?.({ stage: 'scanning files', done, total: paths.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, Math.max(1, paths.length)) }, worker));
  signal?.throwIfAborted();

  const groups = groupBySeries(headers.filter((h): h is DicomFileHeader => h !== undefined));
  const studies = new Map<string, FoundStudy>();
  let thumbs = 0;
  for (const group of groups) {
    signal?.throwIfAborted();
    const firstFile = group.slices[0]?.file as DicomFileHeader;
    const study = studyOfFile.get(firstFile.path) ?? { uid: '' };
    let entry = studies.get(study.uid);
    if (!entry) {
      entry = { ...study, series: [] };
      studies.set(study.uid, entry);
    }
    entry.series.push(await describeSeries(group, options.thumbnailSize ?? 64));
    thumbs++;
    onProgress?.({ stage: 'thumbnails', done: thumbs, total: groups.length });
  }
  const byDescription = (a: FoundSeries, b: FoundSeries): number => (a.modality ?? '').localeCompare(b.modality ?? '') || (a.description ?? '').localeCompare(b.description ?? '') || a.uid.localeCompare(b.uid);
  const list = [...studies.values()].map((s) => ({ ...s, series: s.series.sort(byDescription) }));
  list.sort((a, b) => (a.date ?? '').localeCompare(b.date ?? '') || a.uid.localeCompare(b.uid));
  return { studies: list, filesScanned: paths.length, skippedFiles: skipped };
}

async function describeSeries(group: SeriesGroup, thumbnailSize: number): Promise<FoundSeries> {
  const f = group.slices[0]?.file as DicomFileHeader;
  const files = [...new Set(group.slices.map((s) => s.file.path))];
  const series: FoundSeries = {
    uid: group.uid,
    images: group.slices.length,
    size: [f.columns, f.rows, group.slices.length],
    dir: commonFolder(files),
  };
  // One of several volumes at each position (time points, echoes, b-values) is listed, and opens, on its own.
  const description = describeVolume(f.seriesDescription?.trim(), group.volume);
  if (description) series.description = description;
  if (f.modality) series.modality = f.modality.trim();
  const reason = undecodableReason(f);
  if (reason) {
    series.problem = reason;
    return series;
  }
  // The middle image in patient order (file order when positions are missing or the series is refused).
  let ordered = group.slices;
  try {
    ordered = assembleSeries(group, false).slices;
  } catch (strict) {
    try {
      ordered = assembleSeries(group, true).slices;
      // Opens only with gaps allowed: the browser offers that, saying why.
      series.gaps = strict instanceof Error ? strict.message.replace(/; open with gaps allowed.*$/, '') : String(strict);
    } catch {
      // A series that will not assemble is still listed; opening it says why.
    }
  }
  const middle = ordered[Math.floor(ordered.length / 2)];
  if (!middle) return series;
  try {
    const src = await openDicom(middle.file.path);
    try {
      const bitmap = await renderSlice(src, { z: Math.min(src.depth - 1, middle.frameIndex), maxSize: thumbnailSize });
      const sp = bitmap.spacingMm ?? (src.geometry.type === 'medical' ? [src.geometry.spacingMm[0], src.geometry.spacingMm[1]] : undefined);
      const aspect = sp && sp[0] > 0 && sp[1] > 0 ? sp[1] / sp[0] : 1;
      series.thumbnail = { width: bitmap.width, height: bitmap.height, rgba: bitmap.rgba, ...(aspect !== 1 ? { pixelAspect: aspect } : {}) };
    } finally {
      await src.close();
    }
  } catch (e) {
    series.problem = e instanceof Error ? e.message.replace(`${middle.file.path}: `, '') : String(e);
  }
  return series;
}
