// The items of one top-level array of a JSON file (instances.json's "instances"), parsed one at a time while the
// file is read in chunks: a result with hundreds of thousands of records never holds their text or objects at once.
import { createReadStream } from 'node:fs';
import { InputError } from '../image';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * Yields the items of the array under top-level key `key` of the JSON object in `file`, each parsed with JSON.parse,
 * in order. The rest of the document is scanned, not parsed. Throws an InputError naming the file when there is no
 * such array, it is not closed, or an item is not valid JSON. `chunkBytes`: the read size (tests make it tiny).
 */
export async function* jsonArrayItems<T>(file: string, key: string, chunkBytes = 1 << 20): AsyncGenerator<T> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** A string at depth 1 (a key or a short value) being read, and the last one read there. */
  let keyParts: string[] | null = null;
  let keyStart = -1;
  let lastString: string | null = null;
  let colonAfterKey = false;
  /** Depth inside the wanted array (0: not there yet), and whether it has ended. */
  let arrayDepth = 0;
  let done = false;
  let itemParts: string[] = [];
  let itemStart = -1;
  let inItem = false;
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: chunkBytes });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const parsed: T[] = [];
      const finishItem = (end: number): void => {
        itemParts.push(chunk.slice(itemStart, end));
        const text = itemParts.join('');
        itemParts = [];
        inItem = false;
        try {
          parsed.push(JSON.parse(text) as T);
        } catch (err) {
          throw new InputError(file, `an item of "${key}" is not valid JSON (${(err as Error).message})`);
        }
      };
      if (inItem) itemStart = 0;
      if (keyParts) keyStart = 0;
      for (let i = 0; i < chunk.length && !done; i++) {
        const c = chunk.charCodeAt(i);
        if (inString) {
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) {
            inString = false;
            if (keyParts) {
              keyParts.push(chunk.slice(keyStart, i));
              lastString = keyParts.join('');
              keyParts = null;
            }
          }
          continue;
        }
        if (c <= 0x20) continue;
        if (arrayDepth > 0 && depth === arrayDepth && !inItem && c !== COMMA && c !== CLOSE_ARRAY) {
          inItem = true;
          itemStart = i;
        }
        if (c === QUOTE) {
          inString = true;
          if (arrayDepth === 0 && depth === 1) {
            keyParts = [];
            keyStart = i + 1;
          }
        } else if (c === COLON) {
          if (arrayDepth === 0 && depth === 1) colonAfterKey = lastString === key;
        } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
          depth++;
          if (arrayDepth === 0 && depth === 2 && colonAfterKey) {
            if (c !== OPEN_ARRAY) throw new InputError(file, `"${key}" is not an array`);
            arrayDepth = 2;
          }
        } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
          if (arrayDepth > 0 && depth === arrayDepth) {
            if (inItem) finishItem(i);
            done = true;
            break;
          }
          depth--;
        } else if (c === COMMA) {
          if (arrayDepth > 0 && depth === arrayDepth && inItem) finishItem(i);
          else if (arrayDepth === 0 && depth === 1) colonAfterKey = false;
        }
      }
      if (inItem) itemParts.push(chunk.slice(itemStart));
      if (keyParts) keyParts.push(chunk.slice(keyStart));
      for (const item of parsed) yield item;
      if (done) break;
    }
  } finally {
    stream.destroy();
  }
  if (arrayDepth === 0) throw new InputError(file, `no "${key}" array at the top level`);
  if (!done) throw new InputError(file, `the "${key}" array is not closed (truncated file)`);
}
