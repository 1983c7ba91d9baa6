// Atomic export of streamed content: chunks go to a temporary sibling, which is fsynced and renamed over the target
// only when every chunk was written. A failure or a kill part-way leaves the previous target untouched.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export type Chunks = Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

/** Temporary name next to the target (same folder, so the rename is atomic); hidden, ends in .tmp. */
export function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

export async function writeChunksAtomic(target: string, chunks: Chunks): Promise<void> {
  const tmp = tempSibling(target);
  const fh = await fs.open(tmp, 'w');
  try {
    for await (const chunk of chunks) await fh.write(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    await fh.sync();
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
  try {
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
