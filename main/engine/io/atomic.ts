// Atomic file writes: write a temporary sibling, fsync, rename over the target. Never a half-written file.
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  await writeAtomicWith(target, (fh) => fh.writeFile(data));
}

/**
 * Atomic write of content produced piece by piece: `fill` writes to a temporary sibling's handle, which is then
 * fsynced and renamed over `target`. On any error (also one thrown by `fill`, e.g. a cancel) the temporary file
 * goes and `target` is left as it was. Returns what `fill` returns.
 */
export async function writeAtomicWith<T>(target: string, fill: (fh: FileHandle) => Promise<T>): Promise<T> {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fs.open(tmp, 'w');
  let out: T;
  try {
    out = await fill(fh);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  return out;
}
