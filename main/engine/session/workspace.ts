// Sessions inside the engine host: every result the app creates gets a session whose base (the model's output, as a
// result folder) is written under <autosave>/results/<session id> and whose edits a SessionRecorder autosaves to
// <autosave>/<session id>.autosave.json. Also: saving a session where the user chose, reopening one, listing the
// autosaves a crash left and replaying one of them through the host's ResultStore.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { EditOperation, RecoverableSession, RestoredResult, SessionMeasurement, SessionView } from '../../../preload/api';
import type { InstancesDocument } from '../../../preload/formats';
import { InputError } from '../image';
import { loadResultFolder } from '../export/exporter';
import { writeResultFolder, type ResultRasters } from '../export/results';
import type { ResultStore } from '../results/store';
import { AUTOSAVE_SUFFIX, autosavePath, checkImageReference, loadSession, newSession, saveSession, SessionRecorder, type ModelRun, type SessionDocument } from './session';

/** A session rebuilt in the host: the image to reopen (main issues its handle) and the result as it now stands. */
export interface RestoredSession {
  imagePath: string;
  result: RestoredResult;
  view: SessionView;
  warnings: string[];
}

export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** An autosave as the engine lists it: what the renderer may see, plus the image path (main matches it, never sends it on). */
export interface AutosaveEntry extends RecoverableSession {
  imagePath: string;
}

/** Why an autosave could not be written, in words for the user. */
function autosaveProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`engine host: autosave failed: ${message}\n`);
  return message;
}

const newSessionId = (): string => `s${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;

/** The part of a stored view the renderer takes back (anything else in the file is ignored). */
function viewOf(doc: SessionDocument): SessionView {
  const v = doc.view;
  const out: SessionView = {};
  if (typeof v.z === 'number' && Number.isInteger(v.z) && v.z >= 0) out.z = v.z;
  if (v.window && Number.isFinite(v.window.center) && Number.isFinite(v.window.width)) out.window = { center: v.window.center, width: v.window.width };
  const measurements = measurementsOf(v.measurements);
  if (measurements.length) out.measurements = measurements;
  const ps = v.pixelSize as { value?: unknown; unit?: unknown } | undefined;
  if (ps && typeof ps.value === 'number' && Number.isFinite(ps.value) && ps.value > 0 && (ps.unit === 'mm' || ps.unit === 'm')) out.pixelSize = { value: ps.value, unit: ps.unit };
  return out;
}

/** Manual measurements of a stored view; malformed entries (a hand-edited file) are left out, not fatal. */
export function measurementsOf(v: unknown): SessionMeasurement[] {
  if (!Array.isArray(v)) return [];
  const isPoint = (p: unknown): p is [number, number] => Array.isArray(p) && p.length === 2 && p.every((c) => typeof c === 'number' && Number.isFinite(c));
  const out: SessionMeasurement[] = [];
  for (const m of v as Array<Record<string, unknown>>) {
    if (!m || typeof m !== 'object') continue;
    const { z, kind, points } = m;
    if (typeof z !== 'number' || !Number.isInteger(z) || z < 0) continue;
    if (kind !== 'ruler' && kind !== 'bidirectional') continue;
    if (!Array.isArray(points) || points.length !== (kind === 'ruler' ? 2 : 4) || !points.every(isPoint)) continue;
    out.push({ z, kind, points: points.map((p) => [p[0], p[1]] as [number, number]) });
  }
  return out;
}

export class SessionWorkspace {
  /** Recorder of each kept result, by result id. */
  private readonly recorders = new Map<string, SessionRecorder>();
  /** Session ids this host created or restored: their folders are never garbage. */
  private readonly owned = new Set<string>();

  constructor(
    private readonly store: ResultStore,
    /** Where autosaves go; undefined turns sessions off (the CLI). */
    readonly autosaveDir: string | undefined,
    private readonly intervalMs = 30_000,
  ) {}

  /**
   * A model just produced this result: write its base folder and start recording its edits. Resolves to why the
   * autosave could not be written (the result itself is fine), or undefined.
   */
  async started(resultId: string, imagePath: string, document: InstancesDocument, rasters: ResultRasters, model: ModelRun): Promise<string | undefined> {
    try {
      await this.start(resultId, imagePath, document, rasters, model);
      return undefined;
    } catch (err) {
      return autosaveProblem(err);
    }
  }

  private async start(resultId: string, imagePath: string, document: InstancesDocument, rasters: ResultRasters, model: ModelRun): Promise<void> {
    if (!this.autosaveDir) return;
    const id = newSessionId();
    this.owned.add(id);
    const base = path.join(this.autosaveDir, 'results', id);
    // Probabilities are not needed to replay edits, and they are the largest file.
    await writeResultFolder(base, document, { ...rasters, probabilities: undefined });
    const session = await newSession(imagePath, { id, model, result: base });
    await this.track(resultId, session);
  }

  /**
   * Records a completed edit, undo or redo of a kept result; resolves once the autosave is on disk, to why it could
   * not be written (or undefined). The edit itself succeeded: a full disk must not undo it, but the user is told.
   */
  async recorded(resultId: string, what: { edit: EditOperation } | 'undo' | 'redo'): Promise<string | undefined> {
    const rec = this.recorders.get(resultId);
    if (!rec) return undefined;
    try {
      if (what === 'undo') await rec.recordUndo();
      else if (what === 'redo') await rec.recordRedo();
      else await rec.recordEdit(what.edit);
      return undefined;
    } catch (err) {
      // The next change tries again with the whole log.
      return autosaveProblem(err);
    }
  }

  /**
   * The user is done with a kept result (saved, or chose Discard, and opened something else): its recorder stops and
   * its autosave goes, so it is not offered for recovery later; the result leaves the store.
   */
  async close(resultId: string): Promise<void> {
    const rec = this.recorders.get(resultId);
    this.recorders.delete(resultId);
    this.store.drop(resultId);
    if (!rec || !this.autosaveDir) return;
    await rec.stop().catch(() => undefined);
    await fs.rm(rec.file, { force: true });
    await fs.rm(path.join(this.autosaveDir, 'results', rec.document.id), { recursive: true, force: true });
  }

  /** Writes the session of a kept result to `file`, its base result to `<file minus .json>-result/` beside it. */
  async save(resultId: string, file: string, view: SessionView): Promise<string[]> {
    const rec = this.recorders.get(resultId);
    if (!rec) throw new Error(this.autosaveDir ? 'this result has no session (run the model again)' : 'sessions are off in this engine (no autosave folder)');
    rec.setView({ ...rec.document.view, ...view });
    const source = rec.document.result;
    if (!source) throw new InputError(file, 'the session has no result folder');
    const folder = `${file.replace(/\.json$/i, '')}-result`;
    if (path.resolve(source) !== path.resolve(folder)) {
      // Copied beside the session so the file stays valid after the autosave is cleaned up; swapped in by rename.
      const tmp = `${folder}.${randomBytes(4).toString('hex')}.tmp`;
      await fs.cp(source, tmp, { recursive: true });
      await fs.rm(folder, { recursive: true, force: true });
      await fs.rename(tmp, folder);
    }
    await saveSession(file, { ...rec.document, result: folder });
    // The saved file now holds this work: no recovery offer for it unless it is edited again (which autosaves again).
    await rec.flush();
    await fs.rm(rec.file, { force: true });
    return [file, folder];
  }

  /** Reopens a saved session under a new id (so two opens of one file never share an autosave). */
  async open(file: string): Promise<RestoredSession> {
    const doc = await loadSession(file);
    return this.restore({ ...doc, id: newSessionId() });
  }

  /** Autosaves no kept result is recording: what a crash or a quit without saving left. Newest first. */
  async list(): Promise<AutosaveEntry[]> {
    const dir = this.autosaveDir;
    if (!dir) return [];
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    const live = new Set([...this.recorders.values()].map((r) => r.document.id));
    const found: AutosaveEntry[] = [];
    const referenced = new Set<string>();
    for (const n of names) {
      if (!n.endsWith(AUTOSAVE_SUFFIX) || n.startsWith('.')) continue;
      let s: SessionDocument;
      try {
        s = await loadSession(path.join(dir, n));
      } catch {
        continue;
      }
      referenced.add(s.id);
      if (live.has(s.id)) continue;
      found.push({ sessionId: s.id, imageName: path.basename(s.image.path), imagePath: s.image.path, savedAt: s.savedAt, editCount: s.edits.length, ...(s.model ? { modelId: s.model.modelId } : {}) });
    }
    // Base folders whose autosave is gone (saved elsewhere, or discarded before a crash) are garbage.
    for (const id of await fs.readdir(path.join(dir, 'results')).catch(() => [] as string[])) {
      if (!referenced.has(id) && !this.owned.has(id) && SESSION_ID_PATTERN.test(id)) await fs.rm(path.join(dir, 'results', id), { recursive: true, force: true });
    }
    return found.sort((a, b) => (a.savedAt < b.savedAt ? 1 : a.savedAt > b.savedAt ? -1 : 0));
  }

  /** Replays an autosave into the store; it keeps its id, so recording continues in the same file. */
  async recover(sessionId: string): Promise<RestoredSession> {
    const dir = this.requireDir();
    if (!SESSION_ID_PATTERN.test(sessionId)) throw new InputError(sessionId, 'not a session id');
    const doc = await loadSession(autosavePath(dir, sessionId));
    if ([...this.recorders.values()].some((r) => r.document.id === sessionId)) throw new Error('that session is open already');
    return this.restore(doc);
  }

  /** Deletes an autosave and its base folder (the user chose not to recover it). */
  async discard(sessionId: string): Promise<void> {
    const dir = this.requireDir();
    if (!SESSION_ID_PATTERN.test(sessionId)) throw new InputError(sessionId, 'not a session id');
    if ([...this.recorders.values()].some((r) => r.document.id === sessionId)) throw new Error('that session is open');
    await fs.rm(autosavePath(dir, sessionId), { force: true });
    await fs.rm(path.join(dir, 'results', sessionId), { recursive: true, force: true });
  }

  private requireDir(): string {
    if (!this.autosaveDir) throw new Error('sessions are off in this engine (no autosave folder)');
    return this.autosaveDir;
  }

  /** Loads the base result, applies the edit log (and rebuilds the redo stack), and records from there on. */
  private async restore(doc: SessionDocument): Promise<RestoredSession> {
    if (!doc.result) throw new InputError(doc.id, 'the session has no result folder to apply its edits to');
    const warnings = await checkImageReference(doc.image);
    if (warnings.some((w) => w.endsWith('the image is gone'))) throw new InputError(doc.image.path, 'the session\'s image is gone (moved or deleted)');
    const loaded = await loadResultFolder(doc.result);
    const resultId = this.store.add({
      path: doc.image.path,
      width: loaded.width,
      height: loaded.height,
      depth: loaded.depth,
      geometry: loaded.geometry,
      classes: loaded.classes,
      labels: loaded.labels,
      nodataLabel: loaded.nodataLabel,
      instances: loaded.instances,
      document: loaded.document,
      connectivity: loaded.depth > 1 ? 26 : 8,
    });
    for (const op of doc.edits) await this.store.edit(resultId, op);
    // Redo stack: apply the undone edits (next redo first) and undo them again, so Redo works as before the crash.
    for (let i = doc.redo.length - 1; i >= 0; i--) await this.store.edit(resultId, doc.redo[i]!);
    for (let i = 0; i < doc.redo.length; i++) await this.store.undo(resultId);
    this.owned.add(doc.id);
    if (this.autosaveDir) await this.track(resultId, doc);
    return { imagePath: doc.image.path, result: this.store.state(resultId), view: viewOf(doc), warnings };
  }

  private async track(resultId: string, session: SessionDocument): Promise<void> {
    // Results the store dropped (it keeps a few) stop recording; their autosaves stay recoverable.
    for (const [id, rec] of this.recorders) {
      if (!this.store.has(id)) {
        this.recorders.delete(id);
        void rec.stop().catch(() => undefined);
      }
    }
    const rec = new SessionRecorder(session, this.requireDir(), this.intervalMs);
    this.recorders.set(resultId, rec);
    rec.start();
    // Written now, before any edit, so a crash right after the run still finds the model's result.
    rec.setView(session.view);
    await rec.flush();
  }
}
