// One handler per invoke channel, written once and served by both the Electron shell (register.ts) and the
// browser test host. Arguments arrive validated (dispatch.ts); file access goes only through issued handles.

import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve as resolvePath } from 'node:path';
import type { AppInfo, EventChannel, EventChannels, InvokeHandlers, OpenedImage, OpenedSession, RecoverableSession, SavedFile } from '../../preload/api';
import type { EngineHostClient } from '../engine/host/client';
import { EXPORT_FILE_TYPES, SESSION_EXTENSION, SESSION_FILTERS, type Dialogs } from '../services/dialogs';
import type { RestoredSession } from '../engine/session/workspace';
import { seriesKeyOf } from '../engine/io/dicom/series';
import type { FileRegistry, HandleOptions } from '../services/files';
import { RecentFiles } from '../services/recent';
import { checkDroppedPath } from './dropped';

/** An autosave as the renderer may see it: the image's base name, never its path. */
function withoutPath(a: RecoverableSession & { imagePath?: string }): RecoverableSession {
  const { imagePath: _path, ...rest } = a;
  void _path;
  return rest;
}

export type Emit = <E extends EventChannel>(event: E, payload: EventChannels[E]) => void;

export interface HandlerDeps {
  files: FileRegistry;
  dialogs: Dialogs;
  engine: EngineHostClient;
  emit: Emit;
  app: Omit<AppInfo, 'platform'> & { platform?: string };
  /** Recently opened files (default: kept in memory only). */
  recent?: RecentFiles;
  /** Told about failures that must not fail the call (e.g. the recent list cannot be written). */
  log?: (message: string) => void;
  /** Folder holding LICENSE.txt and THIRD-PARTY-NOTICES.txt (the build writes both into dist/). */
  licenseDir?: string;
  /** Closes the window (the page has settled its unsaved work); absent where there is no window to close. */
  closeWindow?: () => void;
}

export function createHandlers(deps: HandlerDeps) {
  const { files, dialogs, engine, emit } = deps;
  const recent = deps.recent ?? new RecentFiles(null);

  /**
   * Issues a handle for a user-chosen path (and series) and reads its header in the engine; no handle survives a
   * failure. A successful open goes to the top of the recent list.
   */
  async function open(path: string, options: HandleOptions = {}, offerAutosaves = true): Promise<OpenedImage> {
    const handle = await files.issue(path, options);
    let info;
    try {
      info = await engine.call('info', [path, options]);
    } catch (err) {
      files.release(handle);
      throw err;
    }
    const seriesUid = options.seriesUid;
    await remember(path, info, seriesUid, options.allowGaps === true);
    const autosaves = offerAutosaves ? await autosavesOf(path) : [];
    return { handle, name: basename(path), info, ...(seriesUid ? { seriesInstanceUid: seriesUid } : {}), ...(autosaves.length ? { autosaves } : {}) };
  }

  /** Autosaved work on the image at `path` that nobody has open (reopening it offers to restore it); paths stay here. */
  async function autosavesOf(path: string): Promise<RecoverableSession[]> {
    try {
      const all = await engine.call('listAutosaves', []);
      return all.filter((a) => resolvePath(a.imagePath) === resolvePath(path)).map(withoutPath);
    } catch (err) {
      // Opening the image matters more than the offer.
      deps.log?.(`autosaves: ${err instanceof Error ? err.message : String(err)}`);
      return [];
    }
  }

  async function remember(path: string, info: OpenedImage['info'], seriesUid: string | undefined, allowGaps: boolean): Promise<void> {
    try {
      const folder = (await stat(path)).isDirectory();
      const chosen = seriesUid ? info.series?.find((s) => s.uid === seriesUid) : undefined;
      const series = seriesUid ? (chosen?.description ?? `series …${seriesUid.slice(-8)}`) : undefined;
      await recent.add(path, { kind: info.kind, ...(folder ? { folder } : {}), ...(seriesUid ? { seriesUid } : {}), ...(series ? { series } : {}), ...(allowGaps ? { allowGaps } : {}) });
    } catch (err) {
      // The image is open; a recent list that cannot be written is not worth failing that.
      deps.log?.(`recent files: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Where each series a folder scan found lives, by the picked folder's handle: the series opens from there. */
  const scannedSeries = new Map<string, Map<string, string>>();

  /** Options for every engine call that reads the file behind `handle` (the chosen series, if any). */
  const openOptions = (handle: string) => files.openOptions(handle);

  /** Opens a restored session's image with a fresh handle; the result is already rebuilt in the engine host. */
  async function openRestored(restored: RestoredSession): Promise<OpenedSession> {
    // A session of one series of a folder reopens that series (the result's document names it).
    const uid = seriesKeyOf(restored.result.document.source);
    const image = await open(restored.imagePath, uid ? { seriesUid: uid } : {}, false);
    return { image, result: restored.result, view: restored.view, warnings: restored.warnings };
  }

  /** What the save dialog suggests: the image's name without its extension(s). */
  function stemOf(handle: string): string {
    return basename(files.resolve(handle)).replace(/(\.nii)?\.[^.]+$/i, '') || 'result';
  }

  async function requireInstalled(modelId: string): Promise<void> {
    const installed = await engine.call('promptModels', []);
    if (!installed.some((m) => m.id === modelId)) throw new Error(`no installed interactive model "${modelId}"`);
  }

  const saved = (file: string, written: string[]): SavedFile => ({ name: basename(file), files: written.map((p) => basename(p)) });

  return {
    async 'app:info'() {
      return { ...deps.app, platform: deps.app.platform ?? process.platform };
    },
    async 'app:licenses'() {
      // A missing file is shown as missing in the About view, not an error: the rest of the view still helps.
      const read = async (name: string): Promise<string | null> => {
        if (!deps.licenseDir) return null;
        try {
          return await readFile(join(deps.licenseDir, name), 'utf8');
        } catch (err) {
          deps.log?.(`licences: ${err instanceof Error ? err.message : String(err)}`);
          return null;
        }
      };
      return { app: await read('LICENSE.txt'), thirdParty: await read('THIRD-PARTY-NOTICES.txt') };
    },
    async 'app:close-window'() {
      deps.closeWindow?.();
    },
    async 'file:open-dialog'() {
      const path = await dialogs.openImage();
      return path === null ? null : open(path);
    },
    async 'file:open-folder-dialog'() {
      const path = await dialogs.openFolder();
      return path === null ? null : open(path);
    },
    async 'file:open-dropped'(droppedPath) {
      // The one path that comes from the renderer side: checked before the engine is asked to read it.
      return open(await checkDroppedPath(droppedPath));
    },
    async 'file:close'(handle) {
      files.resolve(handle);
      files.release(handle);
      scannedSeries.delete(handle);
    },
    async 'file:open-series'(handle, seriesInstanceUid, options) {
      // A series found by a folder scan opens from its own folder, not by walking the whole picked tree again.
      const dir = scannedSeries.get(handle)?.get(seriesInstanceUid);
      return open(dir ?? files.resolve(handle), { seriesUid: seriesInstanceUid, ...(options.allowGaps ? { allowGaps: true } : {}) });
    },
    async 'folder:pick-dialog'() {
      const path = await dialogs.openFolder();
      if (path === null) return null;
      return { handle: await files.issue(path), name: basename(path) };
    },
    async 'folder:scan'(jobId, handle) {
      const path = files.resolve(handle);
      const scan = await engine.call('scanFolder', [path], { jobId, onProgress: (p) => emit('job:progress', { jobId, ...p }) });
      const dirs = new Map<string, string>();
      // The renderer gets no paths: each series' folder stays here, under the picked folder's handle.
      const studies = scan.studies.map((st) => ({ ...st, series: st.series.map(({ dir, ...rest }) => (dirs.set(rest.uid, dir), rest)) }));
      scannedSeries.set(handle, dirs);
      return { handle, name: basename(path), studies, filesScanned: scan.filesScanned, skippedFiles: scan.skippedFiles };
    },
    async 'image:windows'(handle) {
      return engine.call('windows', [files.resolve(handle), openOptions(handle)]);
    },
    async 'image:patient'(handle) {
      return engine.call('patient', [files.resolve(handle), openOptions(handle)]);
    },
    async 'recent:list'() {
      return recent.view();
    },
    async 'recent:open'(id) {
      const entry = await recent.get(id);
      if (!entry) throw new Error('that file is no longer in the recent list');
      const exists = await stat(entry.path).then(
        () => true,
        () => false,
      );
      if (!exists) {
        await recent.remove(id);
        throw new Error(`${entry.name}: no such file or folder any more (moved or deleted); removed from Recent`);
      }
      return open(entry.path, { ...(entry.seriesUid ? { seriesUid: entry.seriesUid } : {}), ...(entry.allowGaps ? { allowGaps: true } : {}) });
    },
    async 'recent:remove'(id) {
      await recent.remove(id);
    },
    async 'image:info'(handle) {
      return engine.call('info', [files.resolve(handle), openOptions(handle)]);
    },
    async 'image:slice'(request) {
      const { handle, ...rest } = request;
      return engine.call('slice', [files.resolve(handle), rest, openOptions(handle)]);
    },
    async 'image:tile'(request) {
      const { handle, ...rest } = request;
      return engine.call('tile', [files.resolve(handle), rest, openOptions(handle)]);
    },
    async 'models:list'() {
      return engine.call('listModels', []);
    },
    async 'models:add'() {
      const file = await dialogs.openModel();
      return file === null ? null : engine.call('addModel', [file]);
    },
    async 'models:remove'(modelId) {
      await engine.call('removeModel', [modelId]);
    },
    async 'models:device'() {
      return engine.call('devicePlan', []);
    },
    async 'models:compatibility'(handle) {
      return engine.call('modelCompatibility', [files.resolve(handle), openOptions(handle)]);
    },
    async 'segment:run'(jobId, request) {
      const { handle, ...rest } = request;
      const path = files.resolve(handle);
      // The engine would also accept a model path; from the renderer only an installed model's id may arrive.
      const installed = await engine.call('listModels', []);
      if (!installed.some((m) => m.id === rest.modelId)) throw new Error(`no installed model "${rest.modelId}"`);
      const result = await engine.call('segment', [path, rest, openOptions(handle)], {
        jobId,
        onProgress: (p) => emit('job:progress', { jobId, ...p }),
      });
      return { jobId, ...result };
    },
    async 'job:cancel'(jobId) {
      return engine.cancel(jobId);
    },
    async 'engine:status'() {
      return engine.status();
    },
    async 'engine:restart'() {
      return engine.restart();
    },
    async 'image:probe'(request) {
      return engine.call('probe', [files.resolve(request.handle), request.x, request.y, request.z, openOptions(request.handle)]);
    },
    async 'result:slice'(request) {
      return engine.call('resultSlice', [request]);
    },
    async 'result:probability'(request) {
      return engine.call('resultProbability', [request]);
    },
    async 'result:tile'(request) {
      return engine.call('resultTile', [request]);
    },
    async 'result:probability-tile'(request) {
      return engine.call('resultProbabilityTile', [request]);
    },
    async 'result:instances'(request) {
      return engine.call('resultInstances', [request]);
    },
    async 'result:instance-at'(resultId, x, y, z) {
      return engine.call('resultInstanceAt', [resultId, x, y, z]);
    },
    async 'result:edit'(resultId, operation) {
      return engine.call('editResult', [resultId, operation]);
    },
    async 'result:undo'(resultId) {
      return engine.call('undoEdit', [resultId]);
    },
    async 'result:redo'(resultId) {
      return engine.call('redoEdit', [resultId]);
    },
    async 'session:save'(request) {
      const file = await dialogs.saveFile(`${stemOf(request.handle)}.${SESSION_EXTENSION}`, SESSION_FILTERS.slice(0, 1));
      if (file === null) return null;
      return saved(file, await engine.call('saveSession', [request.resultId, file, request.view]));
    },
    async 'session:open'() {
      const file = await dialogs.openSession();
      return file === null ? null : openRestored(await engine.call('openSession', [file]));
    },
    async 'session:recover-list'() {
      return (await engine.call('listAutosaves', [])).map(withoutPath);
    },
    async 'result:close'(resultId) {
      await engine.call('closeResult', [resultId]);
    },
    async 'result:new'(handle, modelId) {
      if (modelId !== null) await requireInstalled(modelId);
      return engine.call('newResult', [files.resolve(handle), modelId, openOptions(handle)]);
    },
    async 'prompt:models'() {
      return engine.call('promptModels', []);
    },
    async 'prompt:open'(handle, modelId) {
      // As for Run: from the renderer only an installed model's id, never a path the engine would resolve.
      if (modelId !== null) await requireInstalled(modelId);
      return engine.call('promptOpen', [files.resolve(handle), modelId, openOptions(handle)]);
    },
    async 'prompt:click'(request) {
      return engine.call('promptClick', [request]);
    },
    async 'prompt:box'(request) {
      return engine.call('promptBox', [request]);
    },
    async 'prompt:propagate'(jobId, request) {
      return engine.call('promptPropagate', [request], { jobId, onProgress: (p) => emit('job:progress', { jobId, ...p }) });
    },
    async 'prompt:clear'(promptId) {
      await engine.call('promptClear', [promptId]);
    },
    async 'prompt:close'(promptId) {
      await engine.call('promptClose', [promptId]);
    },
    async 'session:recover'(sessionId) {
      return openRestored(await engine.call('recoverAutosave', [sessionId]));
    },
    async 'session:discard'(sessionId) {
      await engine.call('discardAutosave', [sessionId]);
    },
    async 'result:export'(request) {
      const type = EXPORT_FILE_TYPES[request.format];
      const suffix = request.format === 'csv' || request.format === 'json' ? '-measurements' : request.format === 'png' ? '-snapshot' : '-labels';
      const file = await dialogs.saveFile(`${stemOf(request.handle)}${suffix}.${type.extensions[0]}`, [{ name: type.name, extensions: [...type.extensions] }]);
      if (file === null) return null;
      const options = {
        ...(request.z !== undefined ? { z: request.z } : {}),
        ...(request.deidentify ? { deidentify: true } : {}),
        ...(request.measurements?.length ? { measurements: request.measurements } : {}),
        ...(request.pixelSize ? { pixelSize: request.pixelSize } : {}),
      };
      return saved(file, await engine.call('exportResult', [request.resultId, request.format, file, options]));
    },
    async 'compare:run'(jobId, request) {
      const { handles, resultIds, ...rest } = request;
      // Only an installed model's id may arrive from the renderer (the engine would also accept a path).
      if (rest.model) {
        const installed = await engine.call('listModels', []);
        if (!installed.some((m) => m.id === rest.model)) throw new Error(`no installed model "${rest.model}"`);
      }
      const inputs = handles.map((h, i) => {
        const resultId = resultIds?.[i];
        const seriesUid = openOptions(h).seriesUid;
        return { path: files.resolve(h), ...(resultId ? { resultId } : {}), ...(seriesUid ? { seriesUid } : {}) };
      });
      return engine.call('compareRun', [inputs, rest], { jobId, onProgress: (p) => emit('job:progress', { jobId, ...p }) });
    },
    async 'compare:slice'(request) {
      return engine.call('compareSlice', [request]);
    },
    async 'compare:close'(compareId) {
      await engine.call('compareClose', [compareId]);
    },
    async 'compare:targets'(compareId, tracks) {
      return engine.call('compareTargets', [compareId, tracks]);
    },
    async 'compare:export-report'(compareId, tracks, deidentify) {
      const file = await dialogs.saveFile('change-report.dcm', [{ name: 'DICOM SR measurement report', extensions: ['dcm'] }]);
      if (file === null) return null;
      return saved(file, await engine.call('compareExportReport', [compareId, tracks, file, deidentify]));
    },
  } satisfies InvokeHandlers;
}

/** Forwards engine host state changes to the renderer as 'engine:state' events. */
export function forwardEngineState(engine: EngineHostClient, emit: Emit): () => void {
  return engine.onState((status) => emit('engine:state', status));
}
