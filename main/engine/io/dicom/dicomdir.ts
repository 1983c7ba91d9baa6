// DICOMDIR (PS3.10 media directory): lists the files its IMAGE-level records reference, relative to its folder.

import { dirname, join } from 'node:path';
import type { DataSet } from './parse';
import { str } from './header';
import { TAG } from './tags';

export function dicomDirReferencedFiles(dicomDirPath: string, ds: DataSet): string[] {
  const records = ds.elements[TAG.directoryRecordSequence]?.items ?? [];
  const root = dirname(dicomDirPath);
  const files: string[] = [];
  for (const item of records) {
    const rec = item.dataSet;
    if (!rec) continue;
    const el = rec.elements[TAG.referencedFileId];
    if (!el || el.length === 0) continue;
    const id = str(rec, TAG.referencedFileId);
    if (!id) continue;
    // ReferencedFileID is a multi-valued CS: path components separated by backslashes.
    const parts = id.split('\\').map((p) => p.trim()).filter((p) => p.length > 0 && p !== '..' && p !== '.');
    if (parts.length > 0) files.push(join(root, ...parts));
  }
  return [...new Set(files)];
}
