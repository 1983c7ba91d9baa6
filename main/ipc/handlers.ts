// One handler per invoke channel, written once and served by both the Electron shell (register.ts) and the
// browser test host. Arguments arrive validated (dispatch.ts); file access goes only through issued handles.

import { basename } from 'node:path';
import type { AppInfo, EventChannel, EventChannels, InvokeHandlers, OpenedImage } from '../../preload/api';
import type { EngineHostClient } from '../engine/host/client';
import type { Dialogs } from '../services/dialogs';
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
  } satisfies InvokeHandlers;
}

/** Forwards engine host state changes to the renderer as 'engine:state' events. */
export function forwardEngineState(engine: EngineHostClient, emit: Emit): () => void {
  return engine.onState((status) => emit('engine:state', status));
}
