// Recently opened images and series folders, kept by main in the app's data folder (recent.json). The renderer
// sees ids and base names only; main maps an id back to its path (and the series chosen in it) when reopened.
// The file is written atomically (temp file + rename), and an unreadable one resets the list instead of failing.

import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { ImageKind, RecentFile, RecentId } from '../../preload/api';

/** Ids are random, issued here: never a path, never guessable from one. */
export const RECENT_ID_PATTERN = /^rf_[0-9a-f]{16}$/;
/** How many entries the list keeps (newest first). */
export const RECENT_MAX = 10;

export interface RecentEntry {
  id: RecentId;
  path: string;
  name: string;
  kind?: ImageKind;
  folder?: boolean;
  /** SeriesInstanceUID chosen in a folder of several. */
  seriesUid?: string;
  /** What the renderer shows for that series (description, else a short UID). */
  series?: string;
  /** The series was opened with slices missing ('file:open-series' with allowGaps): it reopens the same way. */
  allowGaps?: boolean;
  openedAt: string;
}

export type RecentDetails = Pick<RecentEntry, 'kind' | 'folder' | 'seriesUid' | 'series' | 'allowGaps'>;

export interface RecentOptions {
  max?: number;
  now?: () => Date;
  /** Called after an entry is added (the Electron shell tells the OS: app.addRecentDocument). */
  onAdded?: (path: string) => void;
  /** Told when the stored list could not be read and was reset. */
  onProblem?: (message: string) => void;
}

const KINDS: readonly ImageKind[] = ['medical', 'geo', 'image'];

/** One stored entry, or null when it is not one (a hand-edited or damaged file). */
function parseEntry(v: unknown): RecentEntry | null {
  if (typeof v !== 'object' || v === null) return null;
  const e = v as Record<string, unknown>;
  if (typeof e.id !== 'string' || !RECENT_ID_PATTERN.test(e.id)) return null;
  if (typeof e.path !== 'string' || !isAbsolute(e.path) || e.path.includes('\0')) return null;
  if (typeof e.openedAt !== 'string' || Number.isNaN(Date.parse(e.openedAt))) return null;
  const entry: RecentEntry = { id: e.id, path: e.path, name: typeof e.name === 'string' && e.name ? e.name : basename(e.path), openedAt: e.openedAt };
  if (typeof e.kind === 'string' && (KINDS as readonly string[]).includes(e.kind)) entry.kind = e.kind as ImageKind;
  if (e.folder === true) entry.folder = true;
  if (typeof e.seriesUid === 'string' && /^[0-9]+(\.[0-9]+)*$/.test(e.seriesUid) && e.seriesUid.length <= 64) entry.seriesUid = e.seriesUid;
  if (typeof e.series === 'string') entry.series = e.series.slice(0, 200);
  if (e.allowGaps === true) entry.allowGaps = true;
  return entry;
}

export class RecentFiles {
  private entries: RecentEntry[] | null = null;
  private loading: Promise<RecentEntry[]> | null = null;
  /** Changes to the list run one after another, in call order (concurrent opens land in the order they were made). */
  private changes: Promise<unknown> = Promise.resolve();
  private readonly max: number;
  private readonly now: () => Date;

  /** `file`: where the list is stored (null keeps it in memory only). */
  constructor(
    private readonly file: string | null,
    private readonly options: RecentOptions = {},
  ) {
    this.max = options.max ?? RECENT_MAX;
    this.now = options.now ?? (() => new Date());
  }

  /** Entries, newest first. */
  async list(): Promise<RecentEntry[]> {
    return [...(await this.load())];
  }

  /** What the renderer may see of the entries. */
  async view(): Promise<RecentFile[]> {
    return (await this.list()).map(toView);
  }

  async get(id: RecentId): Promise<RecentEntry | undefined> {
    return (await this.load()).find((e) => e.id === id);
  }

  /** Records that `path` was opened (moves it to the top; the same path keeps one entry, with its latest series). */
  add(path: string, details: RecentDetails = {}): Promise<RecentEntry> {
    return this.change(() => this.addNow(path, details));
  }

  remove(id: RecentId): Promise<boolean> {
    return this.change(() => this.removeNow(id));
  }

  private change<T>(run: () => Promise<T>): Promise<T> {
    const next = this.changes.then(run, run);
    this.changes = next.catch(() => undefined);
    return next;
  }

  private async addNow(path: string, details: RecentDetails): Promise<RecentEntry> {
    const entries = await this.load();
    const previous = entries.find((e) => e.path === path);
    const entry: RecentEntry = {
      id: previous?.id ?? `rf_${randomBytes(8).toString('hex')}`,
      path,
      name: basename(path) || path,
      ...(details.kind ? { kind: details.kind } : {}),
      ...(details.folder ? { folder: true } : {}),
      ...(details.seriesUid ? { seriesUid: details.seriesUid } : {}),
      ...(details.series ? { series: details.series } : {}),
      ...(details.allowGaps ? { allowGaps: true } : {}),
      openedAt: this.now().toISOString(),
    };
    this.entries = [entry, ...entries.filter((e) => e.path !== path)].slice(0, this.max);
    await this.save();
    this.options.onAdded?.(path);
    return entry;
  }

  private async removeNow(id: RecentId): Promise<boolean> {
    const entries = await this.load();
    const kept = entries.filter((e) => e.id !== id);
    if (kept.length === entries.length) return false;
    this.entries = kept;
    await this.save();
    return true;
  }

  private async load(): Promise<RecentEntry[]> {
    if (this.entries) return this.entries;
    // One read of the file, however many calls arrive before it ends.
    this.loading ??= this.readStored();
    const loaded = await this.loading;
    this.entries ??= loaded;
    return this.entries;
  }

  private async readStored(): Promise<RecentEntry[]> {
    let loaded: RecentEntry[] = [];
    if (this.file) {
      let text: string | null = null;
      try {
        text = await fs.readFile(this.file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.options.onProblem?.(`recent files: cannot read ${this.file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
      if (text !== null) {
        try {
          const doc = JSON.parse(text) as unknown;
          const list = typeof doc === 'object' && doc !== null ? (doc as { entries?: unknown }).entries : undefined;
          if (!Array.isArray(list)) throw new Error('no entries list');
          loaded = list.map(parseEntry).filter((e): e is RecentEntry => e !== null).slice(0, this.max);
        } catch (err) {
          // A damaged list is not worth failing over: start a new one (the next write replaces the file).
          this.options.onProblem?.(`recent files: ${this.file} is not readable (${err instanceof Error ? err.message : String(err)}); the list starts empty`);
          loaded = [];
        }
      }
    }
    return loaded;
  }

  /** Writes the whole list atomically (temp file + rename); changes run one at a time, so writes never overlap. */
  private async save(): Promise<void> {
    const file = this.file;
    if (!file) return;
    const snapshot = JSON.stringify({ version: 1, entries: this.entries ?? [] }, null, 2) + '\n';
    await fs.mkdir(dirname(file), { recursive: true });
    const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await fs.writeFile(temp, snapshot, { mode: 0o600 });
      await fs.rename(temp, file);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
  }
}

export function toView(e: RecentEntry): RecentFile {
  return {
    id: e.id,
    name: e.name,
    ...(e.kind ? { kind: e.kind } : {}),
    ...(e.folder ? { folder: true } : {}),
    ...(e.series ? { series: e.series } : {}),
    openedAt: e.openedAt,
  };
}
