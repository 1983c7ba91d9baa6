// Instance records of a result too large to hold them all (millions of objects on a 40000 px mosaic): they arrive
// a chunk at a time in id order and go straight to files next to the result, so memory holds one chunk:
// - the items of instances.json, already formatted (json-stream.ts arrayItemText): the class records precede the
//   instances in the document but are sums over them, so the document is put together at the end around this file;
// - the rows of measurements.csv: its columns are the union of the records' fields in first-seen order, and that
//   list only grows at its end, so a row written early lacks only trailing columns and is padded with empty fields
//   when the file is put together (4 bytes per record: the row's length);
// - on request, records.jsonl (one JSON line per record) with its index (id, class, size, mean probability, byte
//   offset: 26 bytes per record), which the app's disk-kept results read pages from.
// The bytes equal those of writeJsonWithArray / measurementsCsv on the whole list.
import { createReadStream, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { InstanceRecord } from '../../../preload/formats';
import { csvField, flattenRecord } from '../export/results';
import { writeAtomicWith } from './atomic';
import { arrayItemText, ChunkedWriter, writeJsonWithItemsFile } from './json-stream';

/** records.jsonl and its index, as a disk-kept result reads them. */
export interface RecordIndex {
  /** The JSON lines file (one record per line, id order). */
  file: string;
  ids: Uint32Array;
  classIds: Uint16Array;
  /** The record's size for sorting (the caller's measure, e.g. its area). */
  sizes: Float64Array;
  /** NaN: the record has none. */
  meanProbability: Float32Array;
  /** Byte offset of each line, and the file's length at index n. */
  offsets: Float64Array;
  /** Whether any record has a meanProbability. */
  hadProbability: boolean;
}

/** A typed array grown by doubling. */
class Grow<T extends Uint32Array | Uint16Array | Float64Array | Float32Array> {
  length = 0;
  constructor(
    private data: T,
    private readonly make: (n: number) => T,
  ) {}
  push(v: number): void {
    if (this.length === this.data.length) {
      const grown = this.make(Math.max(1024, this.data.length * 2));
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }
  get(i: number): number {
    return this.data[i]!;
  }
  /** The values, at their exact length. */
  done(): T {
    return this.data.slice(0, this.length) as T;
  }
}

export interface RecordSpillOptions {
  /** Also write `dir`/records.jsonl and its index, with each record's sort size from this function. */
  index?: (rec: InstanceRecord) => number;
}

export class RecordSpill {
  private count = 0;
  private readonly items: ChunkedWriter;
  private readonly rows: ChunkedWriter;
  private readonly lines: ChunkedWriter | null;
  /** CSV columns in first-seen order, and the row from which each column count holds. */
  private readonly columns: string[] = [];
  private readonly seen = new Set<string>();
  private readonly widths: Array<{ row: number; columns: number }> = [];
  private readonly rowBytes = new Grow(new Uint32Array(0), (n) => new Uint32Array(n));
  private readonly index: {
    ids: Grow<Uint32Array>;
    classIds: Grow<Uint16Array>;
    sizes: Grow<Float64Array>;
    meanProbability: Grow<Float32Array>;
    offsets: Grow<Float64Array>;
    at: number;
    hadProbability: boolean;
  } | null;

  private constructor(
    private readonly files: { items: string; rows: string; lines: string | null },
    private readonly handles: Array<FileHandle>,
    private readonly options: RecordSpillOptions,
  ) {
    this.items = new ChunkedWriter(handles[0]!);
    this.rows = new ChunkedWriter(handles[1]!);
    this.lines = handles[2] ? new ChunkedWriter(handles[2]) : null;
    this.index = options.index
      ? {
          ids: new Grow(new Uint32Array(0), (n) => new Uint32Array(n)),
          classIds: new Grow(new Uint16Array(0), (n) => new Uint16Array(n)),
          sizes: new Grow(new Float64Array(0), (n) => new Float64Array(n)),
          meanProbability: new Grow(new Float32Array(0), (n) => new Float32Array(n)),
          offsets: new Grow(new Float64Array(0), (n) => new Float64Array(n)),
          at: 0,
          hadProbability: false,
        }
      : null;
  }

  /** Opens the spill files in `dir` (hidden scratch files, and records.jsonl when indexing). */
  static async open(dir: string, options: RecordSpillOptions = {}): Promise<RecordSpill> {
    const files = { items: path.join(dir, '.instances-items.tmp'), rows: path.join(dir, '.measurements-rows.tmp'), lines: options.index ? path.join(dir, 'records.jsonl') : null };
    const handles: Array<FileHandle> = [];
    try {
      for (const f of [files.items, files.rows, files.lines]) if (f) handles.push(await fs.open(f, 'w'));
    } catch (err) {
      for (const h of handles) await h.close().catch(() => undefined);
      for (const f of [files.items, files.rows, files.lines]) if (f) await fs.rm(f, { force: true });
      throw err;
    }
    return new RecordSpill(files, handles, options);
  }

  /** Records so far. */
  get length(): number {
    return this.count;
  }

  /** The next records, in id order. */
  async add(records: readonly InstanceRecord[]): Promise<void> {
    for (const rec of records) {
      await this.items.write(arrayItemText(rec, this.count === 0));
      const row = new Map(flattenRecord(rec));
      const before = this.columns.length;
      for (const k of row.keys()) {
        if (this.seen.has(k)) continue;
        this.seen.add(k);
        this.columns.push(k);
      }
      if (this.columns.length !== before) this.widths.push({ row: this.count, columns: this.columns.length });
      const text = this.columns.map((c) => csvField(row.get(c))).join(',') + '\r\n';
      this.rowBytes.push(Buffer.byteLength(text));
      await this.rows.write(text);
      const ix = this.index;
      if (ix && this.lines) {
        const line = JSON.stringify(rec) + '\n';
        ix.ids.push(rec.id);
        ix.classIds.push(rec.classId);
        ix.sizes.push(this.options.index!(rec));
        ix.meanProbability.push(typeof rec.meanProbability === 'number' ? rec.meanProbability : NaN);
        if ('meanProbability' in rec) ix.hadProbability = true;
        ix.offsets.push(ix.at);
        ix.at += Buffer.byteLength(line);
        await this.lines.write(line);
      }
      this.count++;
    }
  }

  private async closeHandles(): Promise<void> {
    for (const h of this.handles.splice(0)) await h.close().catch(() => undefined);
  }

  /**
   * Writes instances.json (`head` with the records as `instances` after its other keys) and measurements.csv,
   * atomically, and removes the scratch files; returns records.jsonl's index when indexing.
   */
  async finish(jsonPath: string, head: Record<string, unknown>, csvPath: string, signal?: AbortSignal): Promise<RecordIndex | null> {
    try {
      await this.items.flush();
      await this.rows.flush();
      if (this.lines) await this.lines.flush();
      for (const h of this.handles) await h.sync();
      await this.closeHandles();
      await writeJsonWithItemsFile(jsonPath, head, 'instances', this.files.items, this.count, signal);
      await this.writeCsv(csvPath, signal);
    } catch (err) {
      await this.discard();
      throw err;
    }
    await fs.rm(this.files.items, { force: true });
    await fs.rm(this.files.rows, { force: true });
    const ix = this.index;
    if (!ix || !this.files.lines) return null;
    ix.offsets.push(ix.at);
    return {
      file: this.files.lines,
      ids: ix.ids.done(),
      classIds: ix.classIds.done(),
      sizes: ix.sizes.done(),
      meanProbability: ix.meanProbability.done(),
      offsets: ix.offsets.done(),
      hadProbability: ix.hadProbability,
    };
  }

  /** Header, then the spilled rows; rows written before the last new column get the missing trailing fields. */
  private async writeCsv(csvPath: string, signal?: AbortSignal): Promise<void> {
    const columns = this.columns.length ? this.columns : ['id', 'classId', 'className', 'pixelCount'];
    const total = columns.length;
    const widths = this.widths;
    // Rows from this one on have every column.
    const fullFrom = widths.length ? widths[widths.length - 1]!.row : 0;
    await writeAtomicWith(csvPath, async (fh) => {
      const out = new ChunkedWriter(fh);
      await out.write(columns.map(csvField).join(',') + '\r\n');
      await out.flush();
      let row = 0;
      let w = 0;
      let carry: Buffer = Buffer.alloc(0);
      for await (const chunk of createReadStream(this.files.rows, { highWaterMark: 1 << 20 })) {
        signal?.throwIfAborted();
        const buf = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
        carry = Buffer.alloc(0);
        let at = 0;
        const parts: Buffer[] = [];
        while (row < fullFrom) {
          const len = this.rowBytes.get(row);
          if (at + len > buf.length) break;
          while (w + 1 < widths.length && widths[w + 1]!.row <= row) w++;
          const missing = total - widths[w]!.columns;
          parts.push(buf.subarray(at, at + len - 2), Buffer.from(','.repeat(missing) + '\r\n'));
          at += len;
          row++;
        }
        if (row < fullFrom) carry = Buffer.from(buf.subarray(at));
        else parts.push(buf.subarray(at));
        if (parts.length) await fh.write(Buffer.concat(parts));
      }
    });
  }

  /** Closes and removes every spill file (a failed or cancelled run). */
  async discard(): Promise<void> {
    await this.closeHandles();
    for (const f of [this.files.items, this.files.rows, this.files.lines]) if (f) await fs.rm(f, { force: true });
  }
}
