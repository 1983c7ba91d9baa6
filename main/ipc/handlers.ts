// One handler per invoke channel, written once and served by both the Electron shell (register.ts) and the
// browser test host. Arguments arrive validated (dispatch.ts); file access goes only through issued handles.

import { basename } from 'node:path';
import type { AppInfo, EventChannel, EventChannels, InvokeHandlers, OpenedImage, OpenedSession, SavedFile } from '../../preload/api';
import type { EngineHostClient } from '../engine/host/client';
import { EXPORT_FILE_TYPES, SESSION_EXTENSION, SESSION_FILTERS, type Dialogs } from '../services/dialogs';
import type { RestoredSession } from '../engine/session/workspace';
import type { FileRegistry } from '../services/files';
import { checkDroppedPath } from './dropped';

export type Emit = <E extends EventChannel>(event: E, payload: EventChannels[E]) => void;

export interface HandlerDeps {
  files: FileRegistry;
  dialogs: Dialogs;
  engine: EngineHostClient;
  emit: Emit;
  app: Omit<AppInfo, 'platform'> & { platform?: string };
}

export function createHandlers(deps: HandlerDeps) {
  const { files, dialogs, engine, emit } = deps;

  /** Issues a handle for a user-chosen path and reads its header in the engine; no handle survives a failure. */
  async function open(path: string): Promise<OpenedImage> {
    const handle = await files.issue(path);
    try {
      const info = await engine.call('info', [path]);
      return { handle, name: basename(path), info };
    } catch (err) {
      files.release(handle);
      throw err;
    }
  }

  /** Opens a restored session's image with a fresh handle; the result is already rebuilt in the engine host. */
  async function openRestored(restored: RestoredSession): Promise<OpenedSession> {
    const image = await open(restored.imagePath);
    return { image, result: restored.result, view: restored.view, warnings: restored.warnings };
  }

  /** What the save dialog suggests: the image's name without its extension(s). */
  function stemOf(handle: string): string {
    return basename(files.resolve(handle)).replace(/(\.nii)?\.[^.]+$/i, '') || 'result';
  }

  const saved = (file: string, written: string[]): SavedFile => ({ name: basename(file), files: written.map((p) => basename(p)) });

  return {
    async 'app:info'() {
      return { ...deps.app, platform: deps.app.platform ?? process.platform };
    },
    async 'file:open-dialog'() {
      const path = await dialogs.openImage();
      return path === null ? null : open(path);
    },
    async 'file:open-dropped'(droppedPath) {
      // The one path that comes from the renderer side: checked before the engine is asked to read it.
      return open(await checkDroppedPath(droppedPath));
    },
    async 'file:close'(handle) {
      files.resolve(handle);
      files.release(handle);
    },
    async 'image:info'(handle) {
      return engine.call('info', [files.resolve(handle)]);
    },
    async 'image:slice'(request) {
      const { handle, ...rest } = request;
      return engine.call('slice', [files.resolve(handle), rest]);
    },
    async 'image:tile'(request) {
      const { handle, ...rest } = request;
      return engine.call('tile', [files.resolve(handle), rest]);
    },
    async 'models:list'() {
      return engine.call('listModels', []);
    },
    async 'segment:run'(jobId, request) {
      const { handle, ...rest } = request;
      const path = files.resolve(handle);
      // The engine would also accept a model path; from the renderer only an installed model's id may arrive.
      const installed = await engine.call('listModels', []);
      if (!installed.some((m) => m.id === rest.modelId)) throw new Error(`no installed model "${rest.modelId}"`);
      const result = await engine.call('segment', [path, rest], {
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
      return engine.call('probe', [files.resolve(request.handle), request.x, request.y, request.z]);
    },
    async 'result:slice'(request) {
      return engine.call('resultSlice', [request]);
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
      return engine.call('listAutosaves', []);
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
      const options = { ...(request.z !== undefined ? { z: request.z } : {}), ...(request.deidentify ? { deidentify: true } : {}) };
      return saved(file, await engine.call('exportResult', [request.resultId, request.format, file, options]));
    },
  } satisfies InvokeHandlers;
}

/** Forwards engine host state changes to the renderer as 'engine:state' events. */
export function forwardEngineState(engine: EngineHostClient, emit: Emit): () => void {
  return engine.onState((status) => emit('engine:state', status));
}
