// Streamed, atomic JSON documents with one long array (instances.json with 100000 objects): the document is
// written piece by piece through a temporary sibling, fsynced and renamed over the target, so neither the whole
// text nor the whole array need exist at once, and no reader ever sees half a file. The bytes are exactly
// JSON.stringify(document, null, 2) + '\n' of the document with the array in place.
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { writeAtomicWith } from './atomic';

/** Characters buffered before a write (bounded memory, few system calls). */
const FLUSH_CHARS = 1 << 20;

/** Writes text to a file handle in chunks of about FLUSH_CHARS. */
class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly fh: FileHandle) {}
  async write(s: string): Promise<void> {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= FLUSH_CHARS) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.size === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    await this.fh.write(text);
  }
}

/**
 * Writes `head` (a top-level object) with `key` set to the items of `items` (an iterable or async iterable, read
 * once, in order) after head's other keys, as JSON.stringify(document, null, 2) + '\n' would. Atomic: a temporary
 * sibling renamed over `target`; on any error (or a throw from the iterator, e.g. a cancel) the temporary file
 * goes and `target` is left as it was. Returns the number of items written.
 */
export async function writeJsonWithArray(target: string, head: Record<string, unknown>, key: string, items: Iterable<unknown> | AsyncIterable<unknown>): Promise<number> {
  if (key in head) throw new Error(`writeJsonWithArray: the head already has "${key}"`);
  // The head with a marker where the array goes: its text before and after the marker frames the items.
  const marker = `@@array-${randomBytes(8).toString('hex')}@@`;
  const framed = JSON.stringify({ ...head, [key]: marker }, null, 2);
  const at = framed.indexOf(JSON.stringify(marker));
  const before = framed.slice(0, at);
  const after = framed.slice(at + marker.length + 2);
  return writeAtomicWith(target, async (fh) => {
    const out = new ChunkedWriter(fh);
    let n = 0;
    await out.write(before);
    for await (const item of items) {
      // Array items of a top-level key sit two levels deep: every line of their text is indented by 4 spaces.
      const text = JSON.stringify(item, null, 2) ?? 'null';
      await out.write(`${n === 0 ? '[\n' : ',\n'}    ${text.replace(/\n/g, '\n    ')}`);
      n++;
    }
    await out.write(n === 0 ? '[]' : '\n  ]');
    await out.write(after + '\n');
    await out.flush();
    return n;
  });
}
