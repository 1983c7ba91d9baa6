// The sandboxed preload: exposes `window.delineate`, exactly one method per invoke channel plus `on` for
// the event channels, over contextBridge. Only 'electron' may be required here; esbuild bundles the rest.

import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { EVENT_CHANNELS, type DelineateApi, type EventChannel, type EventChannels, type InvokeChannel, type InvokeChannels, type IpcReply } from './api';

async function invoke<C extends InvokeChannel>(channel: C, ...args: InvokeChannels[C]['args']): Promise<InvokeChannels[C]['result']> {
  const reply = (await ipcRenderer.invoke(channel, ...args)) as IpcReply<InvokeChannels[C]['result']>;
  // Rebuild a clean Error here: the renderer sees the handler's message, not Electron's wrapping.
  if (!reply.ok) throw new Error(reply.error);
  return reply.value;
}

const api: DelineateApi = {
  appInfo: () => invoke('app:info'),
  licenses: () => invoke('app:licenses'),
  closeWindow: () => invoke('app:close-window'),
  openFileDialog: () => invoke('file:open-dialog'),
  openFolderDialog: () => invoke('file:open-folder-dialog'),
  openDropped: (file: File) => {
    // The path is resolved here, in the trusted preload; the renderer only ever holds the File object.
    const path = webUtils.getPathForFile(file);
    if (!path) return Promise.reject(new Error('only files from disk can be dropped'));
    return invoke('file:open-dropped', path);
  },
  closeFile: (handle) => invoke('file:close', handle),
  openSeries: (handle, seriesInstanceUid, options) => invoke('file:open-series', handle, seriesInstanceUid, options),
  listRecent: () => invoke('recent:list'),
  openRecent: (id) => invoke('recent:open', id),
  removeRecent: (id) => invoke('recent:remove', id),
  imageInfo: (handle) => invoke('image:info', handle),
  imageSlice: (request) => invoke('image:slice', request),
  imageTile: (request) => invoke('image:tile', request),
  imageWindows: (handle) => invoke('image:windows', handle),
  patientHeader: (handle) => invoke('image:patient', handle),
  pickFolder: () => invoke('folder:pick-dialog'),
  scanFolder: (jobId, handle) => invoke('folder:scan', jobId, handle),
  listModels: () => invoke('models:list'),
  addModel: () => invoke('models:add'),
  removeModel: (modelId) => invoke('models:remove', modelId),
  devicePlan: () => invoke('models:device'),
  modelCompatibility: (handle) => invoke('models:compatibility', handle),
  segment: (jobId, request) => invoke('segment:run', jobId, request),
  cancelJob: (jobId) => invoke('job:cancel', jobId),
  engineStatus: () => invoke('engine:status'),
  restartEngine: () => invoke('engine:restart'),
  probe: (request) => invoke('image:probe', request),
  resultSlice: (request) => invoke('result:slice', request),
  resultProbability: (request) => invoke('result:probability', request),
  resultTile: (request) => invoke('result:tile', request),
  resultProbabilityTile: (request) => invoke('result:probability-tile', request),
  resultInstances: (request) => invoke('result:instances', request),
  resultInstanceAt: (resultId, x, y, z) => invoke('result:instance-at', resultId, x, y, z),
  editResult: (resultId, operation) => invoke('result:edit', resultId, operation),
  undoEdit: (resultId) => invoke('result:undo', resultId),
  redoEdit: (resultId) => invoke('result:redo', resultId),
  saveSession: (request) => invoke('session:save', request),
  openSession: () => invoke('session:open'),
  listRecoverable: () => invoke('session:recover-list'),
  recoverSession: (sessionId) => invoke('session:recover', sessionId),
  discardRecoverable: (sessionId) => invoke('session:discard', sessionId),
  closeResult: (resultId) => invoke('result:close', resultId),
  exportResult: (request) => invoke('result:export', request),
  compare: (jobId, request) => invoke('compare:run', jobId, request),
  compareSlice: (request) => invoke('compare:slice', request),
  closeCompare: (compareId) => invoke('compare:close', compareId),
  compareTargets: (compareId, tracks) => invoke('compare:targets', compareId, tracks),
  exportCompareReport: (compareId, tracks, deidentify) => invoke('compare:export-report', compareId, tracks, deidentify),
  newResult: (handle, modelId) => invoke('result:new', handle, modelId),
  promptModels: () => invoke('prompt:models'),
  promptOpen: (handle, modelId) => invoke('prompt:open', handle, modelId),
  promptClick: (request) => invoke('prompt:click', request),
  promptBox: (request) => invoke('prompt:box', request),
  promptPropagate: (jobId, request) => invoke('prompt:propagate', jobId, request),
  promptClear: (promptId) => invoke('prompt:clear', promptId),
  promptClose: (promptId) => invoke('prompt:close', promptId),
  on<E extends EventChannel>(event: E, listener: (payload: EventChannels[E]) => void): () => void {
    if (!(EVENT_CHANNELS as readonly string[]).includes(event)) throw new Error(`unknown event: ${String(event)}`);
    // Never hand the IpcRendererEvent (it carries `sender`) to the page: payload only.
    const wrapped = (_e: IpcRendererEvent, payload: EventChannels[E]) => listener(payload);
    ipcRenderer.on(event, wrapped);
    return () => {
      ipcRenderer.removeListener(event, wrapped);
    };
  },
};

contextBridge.exposeInMainWorld('delineate', api);
