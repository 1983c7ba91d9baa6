// A small LRU of open image sources, so the viewer's repeated slice requests do not reopen and re-parse the file.
// Keyed by path + options + mtime/size (an edited file is reopened); an evicted source closes once no call uses it.
import { promises as fs } from 'node:fs';
import type { ImageSource } from '../image';
import type { OpenOptions } from '../service';
import { openImage } from './index';

interface Entry {
  key: string;
  source: Promise<ImageSource>;
  users: number;
  evicted: boolean;
}

export class SourceCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly capacity = 4) {}

  /** Runs fn with an open source for path; the source stays cached for the next call. */
  async use<T>(path: string, options: OpenOptions, fn: (src: ImageSource) => Promise<T>): Promise<T> {
    const stat = await fs.stat(path).catch(() => null);
    const key = JSON.stringify([path, options.spacingMm ?? null, options.seriesUid ?? null, options.allowGaps ?? false, stat?.mtimeMs ?? 0, stat?.size ?? 0]);
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // re-insert: most recently used last
    } else {
      entry = { key, source: openImage(path, options), users: 0, evicted: false };
    }
    this.entries.set(key, entry);
    entry.users++;
    this.evict();
    try {
      return await fn(await entry.source);
    } catch (err) {
      // A failed open must not stay cached.
      if (this.entries.get(key) === entry) {
        await entry.source.then(
          () => undefined,
          () => this.entries.delete(key),
        );
      }
      throw err;
    } finally {
      entry.users--;
      if (entry.evicted && entry.users === 0) await closeQuietly(entry);
    }
  }

  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) {
      e.evicted = true;
      if (e.users === 0) await closeQuietly(e);
    }
  }

  private evict(): void {
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.values().next().value as Entry;
      this.entries.delete(oldest.key);
      oldest.evicted = true;
      if (oldest.users === 0) void closeQuietly(oldest);
    }
  }
}

async function closeQuietly(entry: Entry): Promise<void> {
  try {
    await (await entry.source).close();
  } catch {
    // Opening failed or closing failed: nothing left to release.
  }
}
