// Sessions: one versioned JSON file = the image (path plus size, mtime and a hash of its head, to notice a different
// file), the model run, the result folder the edits start from, the log of named edit operations (results/edit.ts)
// and the view. Saved atomically (temporary + fsync + rename). A SessionRecorder autosaves to a folder after every
// completed edit and at least every 30 s; recoverSession(dir) finds the newest autosave and replays its log.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { EditOperation } from '../../../preload/api';
import { InputError, type PixelArray } from '../image';
import { editOperation } from '../validate/edits';
import { ValidationError } from '../validate/guards';
import { openImage } from '../io/index';
import { writeFileAtomic } from '../io/atomic';
import { ResultStore } from '../results/store';
import { loadResultFolder, type LoadedResult } from '../export/exporter';

export const SESSION_FORMAT = 'delineate-session';
export const SESSION_VERSION = 1;
export const AUTOSAVE_SUFFIX = '.autosave.json';
/** Bytes of the image hashed for the sanity check (headers live there; hashing all of a CT series would be slow). */
const HEAD_BYTES = 65536;

export interface ImageReference {
  path: string;
  sizeBytes: number;
  mtimeMs: number;
  /** sha256 of the first 64 KiB (a file), or of the sorted listing with sizes (a folder, e.g. a DICOM series). */
  headSha256: string;
}

export interface ModelRun {
  modelId: string;
  modelVersion: string;
  options: Record<string, unknown>;
}

export interface ViewState {
  z?: number;
  zoom?: number;
  center?: [number, number];
  window?: { center: number; width: number };
  [extra: string]: unknown;
}

export interface SessionDocument {
  format: typeof SESSION_FORMAT;
  version: typeof SESSION_VERSION;
  /** Stable id of the session (names its autosave file). */
  id: string;
  savedAt: string;
  image: ImageReference;
  model?: ModelRun;
  /** Result folder (instances.json + labels/instances rasters) the edits apply to. */
  result?: string;
  /** Applied edits, oldest first (the undo stack), and undone ones (the redo stack, next redo last). */
  edits: EditOperation[];
  redo: EditOperation[];
  view: ViewState;
}

/** Size, mtime and head hash of an image file or folder. */
export async function imageReference(file: string): Promise<ImageReference> {
  const abs = path.resolve(file);
  const st = await fs.stat(abs);
  const hash = createHash('sha256');
  if (st.isDirectory()) {
    const names = (await fs.readdir(abs)).sort();
    let total = 0;
    let mtime = st.mtimeMs;
    for (const n of names) {
      const s = await fs.stat(path.join(abs, n));
      total += s.size;
      mtime = Math.max(mtime, s.mtimeMs);
      hash.update(`${n}\0${s.size}\n`);
    }
    return { path: abs, sizeBytes: total, mtimeMs: mtime, headSha256: hash.digest('hex') };
  }
  const fh = await fs.open(abs, 'r');
  try {
    const buf = Buffer.alloc(Math.min(HEAD_BYTES, st.size));
    await fh.read(buf, 0, buf.length, 0);
    hash.update(buf);
  } finally {
    await fh.close();
  }
  return { path: abs, sizeBytes: st.size, mtimeMs: st.mtimeMs, headSha256: hash.digest('hex') };
}

/** Problems with the image a session refers to (moved, changed); empty when it looks the same. */
export async function checkImageReference(ref: ImageReference): Promise<string[]> {
  let now: ImageReference;
  try {
    now = await imageReference(ref.path);
  } catch {
    return [`${ref.path}: the image is gone`];
  }
  const problems: string[] = [];
  if (now.sizeBytes !== ref.sizeBytes) problems.push(`${ref.path}: size changed (${ref.sizeBytes} -> ${now.sizeBytes} bytes)`);
  if (now.headSha256 !== ref.headSha256) problems.push(`${ref.path}: contents changed`);
  return problems;
}

/**
 * The edit log as the app's edit channel would accept it, each operation checked field by field (the same guards):
 * a hand-edited or damaged file is refused here, naming the edit and the field, not halfway through the replay.
 */
function checkedEdits(v: unknown, what: string, file: string): EditOperation[] {
  if (!Array.isArray(v)) throw new InputError(file, `session ${what} is malformed (not a list)`);
  return Array.from(v as unknown[], (e, i) => {
    try {
      return editOperation(e, `${what}[${i}]`);
    } catch (err) {
      if (err instanceof ValidationError) throw new InputError(file, `session ${what.replace(/s$/, '')} ${i + 1} of ${v.length} is malformed (${err.message})`);
      throw err;
    }
  });
}

/** Parses and checks a session file's text. */
export function parseSession(text: string, file = 'session'): SessionDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(file, 'not a session file (not JSON)');
  }
  const s = json as Partial<SessionDocument>;
  if (!s || s.format !== SESSION_FORMAT) throw new InputError(file, 'not a Delineate session file');
  if (s.version !== SESSION_VERSION) throw new InputError(file, `session version ${String(s.version)} is not supported (this build reads ${SESSION_VERSION})`);
  if (!s.image || typeof s.image.path !== 'string') throw new InputError(file, 'session has no image reference');
  const edits = checkedEdits(s.edits, 'edits', file);
  // The redo stack is a convenience: a damaged one is dropped, never fatal.
  let redo: EditOperation[] = [];
  try {
    redo = s.redo === undefined ? [] : checkedEdits(s.redo, 'redo', file);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
  }
  return { ...(s as SessionDocument), edits, redo, view: s.view ?? {} };
}

export async function loadSession(file: string): Promise<SessionDocument> {
  return parseSession(await fs.readFile(file, 'utf8'), file);
}

/** Writes a session atomically (temporary + fsync + rename); relative result paths are kept as given. */
export async function saveSession(file: string, session: SessionDocument): Promise<void> {
  const doc: SessionDocument = { ...session, savedAt: new Date().toISOString() };
  await writeFileAtomic(file, JSON.stringify(doc) + '\n');
}

/** A new session for an image (and the result folder its edits start from). */
export async function newSession(image: string, options: { id?: string; model?: ModelRun; result?: string; view?: ViewState } = {}): Promise<SessionDocument> {
  return {
    format: SESSION_FORMAT,
    version: SESSION_VERSION,
    id: options.id ?? `s${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
    savedAt: new Date().toISOString(),
    image: await imageReference(image),
    ...(options.model ? { model: options.model } : {}),
    ...(options.result ? { result: path.resolve(options.result) } : {}),
    edits: [],
    redo: [],
    view: options.view ?? {},
  };
}

// ---------------------------------------------------------------- autosave

export function autosavePath(dir: string, sessionId: string): string {
  return path.join(dir, `${sessionId.replace(/[^A-Za-z0-9_-]/g, '_')}${AUTOSAVE_SUFFIX}`);
}

/**
 * Keeps a session's log as edits complete and autosaves it to `dir`: after every completed edit, undo or redo (the
 * promise resolves once the file is on disk), and on a timer (default 30 s) when only the view changed.
 */
export class SessionRecorder {
  private timer: NodeJS.Timeout | null = null;
  private dirty = false;
  /** Saves run one after another, so an older state never lands after a newer one. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private session: SessionDocument,
    readonly dir: string,
    private readonly intervalMs = 30_000,
  ) {}

  get document(): SessionDocument {
    return this.session;
  }

  get file(): string {
    return autosavePath(this.dir, this.session.id);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** Call after the engine completed `op`. */
  recordEdit(op: EditOperation): Promise<void> {
    this.session = { ...this.session, edits: [...this.session.edits, op], redo: [] };
    return this.save();
  }

  recordUndo(): Promise<void> {
    const op = this.session.edits[this.session.edits.length - 1];
    if (!op) return Promise.resolve();
    this.session = { ...this.session, edits: this.session.edits.slice(0, -1), redo: [...this.session.redo, op] };
    return this.save();
  }

  recordRedo(): Promise<void> {
    const op = this.session.redo[this.session.redo.length - 1];
    if (!op) return Promise.resolve();
    this.session = { ...this.session, edits: [...this.session.edits, op], redo: this.session.redo.slice(0, -1) };
    return this.save();
  }

  /** View changes are saved by the timer, not one by one. */
  setView(view: ViewState): void {
    this.session = { ...this.session, view };
    this.dirty = true;
  }

  flush(): Promise<void> {
    return this.dirty ? this.save() : this.chain;
  }

  /** Removes the autosave (after the user saved the session elsewhere or discarded it). */
  async discard(): Promise<void> {
    await this.stop();
    await fs.rm(this.file, { force: true });
  }

  private save(): Promise<void> {
    this.dirty = false;
    const snapshot = this.session;
    this.chain = this.chain.then(async () => {
      await fs.mkdir(this.dir, { recursive: true });
      await saveSession(this.file, snapshot);
    });
    return this.chain;
  }
}

// ---------------------------------------------------------------- recovery

/** The newest readable autosave in dir (by its savedAt), or null when there is none. */
export async function findNewestAutosave(dir: string): Promise<{ file: string; session: SessionDocument } | null> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return null;
  }
  let best: { file: string; session: SessionDocument } | null = null;
  for (const n of names) {
    if (!n.endsWith(AUTOSAVE_SUFFIX) || n.startsWith('.')) continue;
    const file = path.join(dir, n);
    try {
      const session = await loadSession(file);
      if (!best || session.savedAt > best.session.savedAt) best = { file, session };
    } catch {
      // A damaged autosave is skipped: atomic writes make this rare (only a foreign file would be).
    }
  }
  return best;
}

/** A session's result with its edit log applied, kept in a ResultStore (as the engine host keeps results). */
export interface ReplayedSession {
  session: SessionDocument;
  store: ResultStore;
  resultId: string;
  result: LoadedResult;
  /** Edits applied (all of the log unless one failed). */
  applied: number;
}

async function readIntensity(file: string): Promise<PixelArray> {
  const src = await openImage(file);
  try {
    return (await src.read({ channels: [0] })).data;
  } finally {
    await src.close();
  }
}

/** Loads the session's result folder and applies its edits in order through the ResultStore. */
export async function replaySession(session: SessionDocument): Promise<ReplayedSession> {
  if (!session.result) throw new InputError(session.id, 'the session has no result folder to apply its edits to');
  const result = await loadResultFolder(session.result);
  const store = new ResultStore(readIntensity);
  const resultId = store.add({
    path: session.image.path,
    width: result.width,
    height: result.height,
    depth: result.depth,
    geometry: result.geometry,
    classes: result.classes,
    labels: result.labels,
    nodataLabel: result.nodataLabel,
    instances: result.instances,
    document: result.document,
    connectivity: result.depth > 1 ? 26 : 8,
  });
  let applied = 0;
  for (const op of session.edits) {
    const r = await store.edit(resultId, op);
    result.document = r.document;
    applied++;
  }
  return { session, store, resultId, result, applied };
}

/** Finds the newest autosave in dir and replays it; null when there is nothing to recover. */
export async function recoverSession(dir: string): Promise<ReplayedSession | null> {
  const found = await findNewestAutosave(dir);
  if (!found) return null;
  return replaySession(found.session);
}
