// Streamed, atomic JSON documents with one long array (instances.json with 100000 objects): the document is
// written piece by piece through a temporary sibling, fsynced and renamed over the target, so neither the whole
// text nor the whole array need exist at once, and no reader ever sees half a file. The bytes are exactly
// JSON.stringify(document, null, 2) + '\n' of the document with the array in place.
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { writeAtomicWith } from './atomic';

/** Characters buffered before a write (bounded memory, few system calls). */
const FLUSH_CHARS = 1 << 20;

/** Writes text to a file handle in chunks of about FLUSH_CHARS. */
export class ChunkedWriter {
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
  const { before, after } = frame(head, key);
  return writeAtomicWith(target, async (fh) => {
    const out = new ChunkedWriter(fh);
    let n = 0;
    await out.write(before);
    for await (const item of items) await out.write(arrayItemText(item, n++ === 0));
    await out.write(n === 0 ? '[]' : '\n  ]');
    await out.write(after + '\n');
    await out.flush();
    return n;
  });
}

/** The document's text before and after its array (the head with a marker where the array goes). */
function frame(head: Record<string, unknown>, key: string): { before: string; after: string } {
  if (key in head) throw new Error(`writeJsonWithArray: the head already has "${key}"`);
  const marker = `@@array-${randomBytes(8).toString('hex')}@@`;
  const framed = JSON.stringify({ ...head, [key]: marker }, null, 2);
  const at = framed.indexOf(JSON.stringify(marker));
  return { before: framed.slice(0, at), after: framed.slice(at + marker.length + 2) };
}

/**
 * One array item's text as writeJsonWithArray writes it, with the bracket or comma before it: items of a top-level
 * key sit two levels deep, so every line of their text is indented by 4 spaces.
 */
export function arrayItemText(item: unknown, first: boolean): string {
  const text = JSON.stringify(item, null, 2) ?? 'null';
  return `${first ? '[\n' : ',\n'}    ${text.replace(/\n/g, '\n    ')}`;
}

/**
 * writeJsonWithArray with the array's items already written, as arrayItemText gave them in order, to `itemsFile`
 * (`count` of them): the document is the head's text around that file's bytes, copied in blocks. For arrays whose
 * items are made before the head is known (instances.json: class totals come from the instances).
 */
export async function writeJsonWithItemsFile(target: string, head: Record<string, unknown>, key: string, itemsFile: string, count: number, signal?: AbortSignal): Promise<void> {
  const { before, after } = frame(head, key);
  await writeAtomicWith(target, async (fh) => {
    await fh.write(before);
    if (count === 0) await fh.write('[]');
    else {
      for await (const chunk of createReadStream(itemsFile, { highWaterMark: 1 << 20 })) {
        signal?.throwIfAborted();
        await fh.write(chunk as Buffer);
      }
      await fh.write('\n  ]');
    }
    await fh.write(after + '\n');
  });
}
