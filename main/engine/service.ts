// The engine's service surface: what the engine host process exposes to the Electron shell, the test host
// and (in-process) the CLI. Plain data in, plain data out; paths here are already resolved from handles.

import type { ImageInfo, InstanceRecord, InstancesDocument, ModelSummary, RunWarning } from '../../preload/formats';
import type { ResultInstancesPage, ResultInstancesRequest, ResultProbabilityTile, ResultProbabilityTileRequest, ResultTile, ResultTileRequest } from '../../preload/api';
import type { ImageWindows, PatientHeader, PixelSize } from '../../preload/api';
import type { DicomFolderScan } from './io/dicom/scan';
import type { ModelCompatibility } from '../../preload/api';
import type { DevicePlan, EditOperation, EditResult, JobProgress, ResultExportFormat, SessionView, PixelProbe, ResultProbability, ResultProbabilityRequest, ResultSlice, ResultSliceRequest, SliceBitmap, SliceRequest, SegmentRequest, TileBitmap, TileRequest } from '../../preload/api';
import type { ExportMeasurement } from '../../preload/api';
import type { CompareRequest, CompareResult, CompareSlice, CompareSliceRequest, MedicalChangeDocument } from '../../preload/compare';
import type { NewResult, PromptBoxRequest, PromptClickRequest, PromptOpened, PromptPropagateRequest, PromptState } from '../../preload/api';

export interface OpenOptions {
  /** User-supplied physical spacing for plain images, [x, y(, z)] in mm. */
  spacingMm?: number[];
  /** DICOM: the SeriesInstanceUID to open when a folder holds several series. */
  seriesUid?: string;
  /** DICOM: open a series with missing slices or uneven spacing anyway (the metadata says so). */
  allowGaps?: boolean;
}

export type ProgressFn = (p: Omit<JobProgress, 'jobId'>) => void;

export interface EngineService {
  info(path: string, options?: OpenOptions): Promise<ImageInfo>;
  slice(path: string, request: Omit<SliceRequest, 'handle'>, options?: OpenOptions): Promise<SliceBitmap>;
  /** One tile of the slice's resolution pyramid (stored overviews, else built from finer tiles and cached here). */
  tile(path: string, request: Omit<TileRequest, 'handle'>, options?: OpenOptions): Promise<TileBitmap>;
  listModels(): Promise<ModelSummary[]>;
  /** Checks the .onnx model at `file` and copies it into the user models folder; refuses an installed id. */
  addModel(file: string): Promise<ModelSummary>;
  /** Removes a user-added model (never a shipped one). */
  removeModel(modelId: string): Promise<void>;
  /** The execution providers a run will try, in order, and why faster ones are ruled out. */
  devicePlan(): Promise<DevicePlan>;
  /** How each installed model suits the image (kind, channels, resolution): the picker reads it before Run. */
  modelCompatibility(path: string, options?: OpenOptions): Promise<ModelCompatibility[]>;
  /** Runs a model on the image and post-processes it; honours the signal between tiles. */
  segment(
    path: string,
    request: Omit<SegmentRequest, 'handle'>,
    onProgress: ProgressFn,
    signal: AbortSignal,
    options?: OpenOptions,
  ): Promise<{ document: InstancesDocument; overlay?: SliceBitmap; resultId?: string; probabilities?: boolean; autosaveError?: string; windowed?: { width: number; height: number; instanceCount: number } }>;
  /** Window presets by modality (CT: HU presets; MR and others: percentiles of the volume) and the value range. */
  windows(path: string, options?: OpenOptions): Promise<ImageWindows>;
  /** Patient and study attributes of a DICOM image for the header over the views ({} for other files). */
  patient(path: string, options?: OpenOptions): Promise<PatientHeader>;
  /** Scans a folder and its subfolders for DICOM studies and series, with thumbnails; honours the signal between files. */
  scanFolder(path: string, onProgress: ProgressFn, signal: AbortSignal): Promise<DicomFolderScan>;
  /** Values and world position of one pixel (the cursor read-out). */
  probe(path: string, x: number, y: number, z: number, options?: OpenOptions): Promise<PixelProbe>;
  /** Instance ids of one slice of a kept result. */
  resultSlice(request: ResultSliceRequest): Promise<ResultSlice>;
  /** One class's model probability on one slice of a kept result (when its probability maps were kept). */
  resultProbability(request: ResultProbabilityRequest): Promise<ResultProbability>;
  /** One tile of a kept result's instance map at a pyramid level (disk-kept results read it from their files). */
  resultTile(request: ResultTileRequest): Promise<ResultTile>;
  /** One tile of one class's model probability of a kept result. */
  resultProbabilityTile(request: ResultProbabilityTileRequest): Promise<ResultProbabilityTile>;
  /** A page of a kept result's instance records, sorted and filtered by class. */
  resultInstances(request: ResultInstancesRequest): Promise<ResultInstancesPage>;
  /** The record of the instance under a full-resolution pixel, or null. */
  resultInstanceAt(resultId: string, x: number, y: number, z: number): Promise<InstanceRecord | null>;
  /** Applies a named edit operation to a kept result and re-measures what it touched. */
  editResult(resultId: string, operation: EditOperation): Promise<EditResult>;
  undoEdit(resultId: string): Promise<EditResult>;
  redoEdit(resultId: string): Promise<EditResult>;
  /** Writes the session of a kept result to `file` (and its base result beside it); returns the written paths. */
  saveSession(resultId: string, file: string, view: SessionView): Promise<string[]>;
  /** Rebuilds a saved session's result (edits replayed); main then opens its image. */
  openSession(file: string): Promise<RestoredSession>;
  /** Autosaves left by a crash or an unsaved quit, newest first. */
  listAutosaves(): Promise<AutosaveEntry[]>;
  /** The user is done with a kept result (saved or discarded): it leaves the store and its autosave goes. */
  closeResult(resultId: string): Promise<void>;
  recoverAutosave(sessionId: string): Promise<RestoredSession>;
  discardAutosave(sessionId: string): Promise<void>;
  /** Writes a kept result, as it stands now, to `out` in one format (atomically); returns the written paths. */
  exportResult(resultId: string, format: ResultExportFormat, out: string, options: { z?: number; deidentify?: boolean; measurements?: ExportMeasurement[]; pixelSize?: PixelSize }): Promise<string[]>;
  /**
   * Compares two or more dates of one patient or place: each image's kept result where given, else the image segmented
   * with the model (default: the installed model that suits the first image best). Honours the signal.
   */
  compareRun(inputs: CompareRunInput[], request: Omit<CompareRequest, 'handles' | 'resultIds'>, onProgress: ProgressFn, signal: AbortSignal): Promise<CompareResult>;
  /** One date's slice of a kept comparison on the common grid, with its change overlay. */
  compareSlice(request: CompareSliceRequest): Promise<CompareSlice>;
  /** Forgets a comparison and removes its work files. */
  compareClose(compareId: string): Promise<void>;
  /** A medical comparison with user-chosen RECIST target lesions (null: compare's own choice). */
  compareTargets(compareId: string, tracks: number[] | null): Promise<MedicalChangeDocument>;
  /** Writes the comparison's DICOM SR report with these targets (null: compare's own) to out; the files written. */
  compareExportReport(compareId: string, tracks: number[] | null, out: string, deidentify: boolean): Promise<string[]>;
  /** An empty result for the image (classes from the prompt model), kept and recorded like a model's result. */
  newResult(path: string, modelId: string | null, options?: OpenOptions): Promise<NewResult>;
  /** Installed interactive (task "prompt") models: what the AI tool may open. */
  promptModels(): Promise<ModelSummary[]>;
  /** Opens the AI tool's model on the image (null: the shipped interactive model for its kind). */
  promptOpen(path: string, modelId: string | null, options?: OpenOptions): Promise<PromptOpened>;
  promptClick(request: PromptClickRequest): Promise<PromptState>;
  promptBox(request: PromptBoxRequest): Promise<PromptState>;
  /** Carries slice z's object through the volume; honours the signal between slices. */
  promptPropagate(request: PromptPropagateRequest, onProgress: ProgressFn, signal: AbortSignal): Promise<PromptState>;
  promptClear(promptId: string): Promise<void>;
  promptClose(promptId: string): Promise<void>;
}

/** One date of a comparison: the image's path and, when the app keeps a result of it, that result's id. */
export interface CompareRunInput {
  path: string;
  resultId?: string;
  /** The DICOM series opened in a folder of several. */
  seriesUid?: string;
}

export interface EngineServiceOptions {
  /** Folder for session autosaves (the app's userData/autosave); without it results are not recorded. */
  autosaveDir?: string;
  /** The user's models folder (the app's userData/models); 'addModel' copies into it. */
  userModelsDir?: string;
  /** 2D rasters above this many model-grid pixels run window by window and stay on disk (default: as segmentToFolder). */
  windowedMinPx?: number;
  /** Core window edge of windowed runs (default: the windowed path's). */
  windowPx?: number;
}

import { openImage } from './io';
import { renderSlice } from './render/slice';
import { TileRenderer } from './render/tile';
import { describe } from './image';
import { listModels, segmentImage } from './pipeline';
import { scanModels } from './inference/manifest';
import { checkCompatibility, imageTraits, isUnfit } from './inference/compatibility';
import { SourceCache } from './io/cache';
import { PROBABILITY_CAP_BYTES, ResultStore } from './results/store';
import { probePixel } from './render/probe';
import { SessionWorkspace, type AutosaveEntry, type RestoredSession } from './session/workspace';
import { exportResult, type ExportFormat, type ExportOptions } from './export/exporter';
import { installModel, planAutoDevice, removeUserModel } from './inference/install';
import { volumeWindows } from './render/windows';
import { readPatientHeader } from './io/dicom/patient';
import { scanDicomFolder } from './io/dicom/scan';
import { CompareStore } from './compare/view';
import { resolve as resolvePath } from 'node:path';
import { emptyResult, listPromptModels, LivePrompts } from './interactive/live';
import { DiskResultStore, newResultFolder } from './results/disk';
import { sizeOfRecord } from './results/tiles';
import { resolveModel } from './inference/manifest';
import { planResample } from './inference/resample';
import { throwIfAborted } from './inference/tiling';
import { segmentWindowed, useWindowed } from './windowed';
import { postprocess } from './pipeline';
import { labelArrayFor } from './postprocess/labels';
import { promises as fsp } from 'node:fs';

// The contract's format list and the exporter's must stay the same list.
const _formatsMatch: [ResultExportFormat, ExportFormat] extends [ExportFormat, ResultExportFormat] ? true : never = true;
void _formatsMatch;

/** The engine as a service object; the engine host serves it over its process boundary. */
export function createEngineService(options: EngineServiceOptions = {}): EngineService {
  // The viewer asks for many slices of the same file: keep a few sources open instead of reopening per call.
  const sources = new SourceCache(4);
  // Results stay in the host so the viewer can page through their slices and edits can change them.
  // Pyramid tiles built on the fly (no stored overview close enough) are kept, so panning and zooming reuse them.
  const tiles = new TileRenderer();
  // The series a folder's result was segmented from, so its intensities are re-read from that series after edits.
  const resultSeries = new Map<string, OpenOptions>();
  const results = new ResultStore((path) => sources.use(path, resultSeries.get(path) ?? {}, async (src) => (await src.read({ channels: [0] })).data));
  // Every result gets a session: its base written under the autosave folder, its edits autosaved as they complete.
  const sessions = new SessionWorkspace(results, options.autosaveDir);
  // Comparisons keep every date on one grid for the Compare view until it is closed.
  const comparisons = new CompareStore();
  // The AI tool's live prompts (model, embeddings, clicks): a crash in one takes down this host, never the window.
  const prompts = new LivePrompts();
  // Results of windowed runs (rasters too large for memory): their maps stay in files, read tile by tile.
  const disk = new DiskResultStore();

  /** A windowed run into a folder of its own that the disk store then owns; a cancel or failure leaves no folder. */
  async function segmentOnDisk(
    src: Awaited<ReturnType<typeof openImage>>,
    model: Awaited<ReturnType<typeof resolveModel>>,
    request: Omit<SegmentRequest, 'handle'>,
    onProgress: ProgressFn,
    signal: AbortSignal,
    windowedMinPx: number | undefined,
  ): ReturnType<EngineService['segment']> {
    const dir = await newResultFolder();
    try {
      const { outcome } = await segmentWindowed(
        src,
        dir,
        {
          model,
          ...(request.device ? { device: request.device } : {}),
          ...(request.overlap !== undefined ? { overlap: request.overlap } : {}),
          ...(request.modelPostprocess === false ? { modelPostprocess: false } : {}),
          ...(windowedMinPx !== undefined ? { windowedMinPx } : {}),
          ...(options.windowPx !== undefined ? { windowPx: options.windowPx } : {}),
          probabilities: true,
        },
        onProgress,
        signal,
        postprocess,
        undefined,
        // The records stay in the folder as records.jsonl (the disk store pages through them), never all in memory.
        { keepRecords: { sizeOf: sizeOfRecord } },
      );
      throwIfAborted(signal);
      onProgress({ stage: 'overviews', done: 0, total: 1 });
      const resultId = await disk.add(
        {
          dir,
          path: src.file,
          document: outcome.document,
          ...(outcome.records ? { records: outcome.records } : {}),
          classes: model.manifest.classes,
          geometry: src.geometry,
          width: src.width,
          height: src.height,
          nodataLabel: labelArrayFor(model.manifest.classes.length, 0).nodataLabel,
        },
        signal,
      );
      const instanceCount = outcome.instanceCount;
      // The records stay on disk: the renderer pages through them ('result:instances').
      return { document: { ...outcome.document, instances: [] }, overlay: outcome.overlay, resultId, probabilities: true, windowed: { width: src.width, height: src.height, instanceCount } };
    } catch (err) {
      await fsp.rm(dir, { recursive: true, force: true });
      throw err;
    }
  }
  return {
    async info(path, options) {
      const src = await openImage(path, options);
      try {
        return describe(src);
      } finally {
        await src.close();
      }
    },
    async slice(path, request, open = {}) {
      return sources.use(path, open, (src) => renderSlice(src, request));
    },
    async tile(path, request, open = {}) {
      return sources.use(path, open, (src) => tiles.render(src, request));
    },
    listModels,
    async addModel(file) {
      if (!options.userModelsDir) throw new Error('no user models folder is configured');
      return installModel(file, { userDir: options.userModelsDir });
    },
    async removeModel(modelId) {
      if (!options.userModelsDir) throw new Error('no user models folder is configured');
      await removeUserModel(modelId, { userDir: options.userModelsDir });
    },
    async devicePlan() {
      return planAutoDevice();
    },
    async modelCompatibility(path, open = {}) {
      const scan = await scanModels();
      return sources.use(path, open, async (src) => {
        const traits = await imageTraits(src, scan.models.map((model) => model.manifest));
        return scan.models.map((model) => {
          const warnings = checkCompatibility(model.manifest, traits);
          return { modelId: model.manifest.id, warnings, unfit: isUnfit(warnings) };
        });
      });
    },
    async segment(path, request, onProgress, signal, open = {}) {
      const src = await openImage(path, open);
      try {
        // The same choice as the CLI's segmentToFolder: a raster whose model grid is too large for memory runs window by window.
        if (src.depth === 1 && src.kind !== 'medical') {
          const model = await resolveModel(request.modelId);
          const plan = planResample(model.manifest.resolution, src.geometry, src.width, src.height);
          const windowedMinPx = options.windowedMinPx;
          if (useWindowed(src, windowedMinPx !== undefined ? { model, windowedMinPx } : { model }, plan ? plan.factor[0] * plan.factor[1] : 1)) {
            return await segmentOnDisk(src, model, request, onProgress, signal, windowedMinPx);
          }
        }
        const out = await segmentImage(
          src,
          {
            model: request.modelId,
            ...(request.device ? { device: request.device } : {}),
            ...(request.overlap !== undefined ? { overlap: request.overlap } : {}),
            ...(request.modelPostprocess === false ? { modelPostprocess: false } : {}),
            // Kept for the viewer's probability heat-map when they fit the cap.
            probabilities: true,
            probabilitiesMaxBytes: PROBABILITY_CAP_BYTES,
          },
          onProgress,
          signal,
        );
        const r = out.rasters;
        const resultId = results.add({
          path,
          width: r.width,
          height: r.height,
          depth: r.depth,
          geometry: r.geometry,
          classes: r.classes,
          labels: r.labels,
          nodataLabel: r.nodataLabel,
          instances: r.instances,
          document: out.document,
          // The pipeline's default connectivity (segmentImage: 8 in 2D, 26 in 3D).
          connectivity: r.depth > 1 ? 26 : 8,
          ...(r.probabilities ? { probabilities: r.probabilities } : {}),
        });
        if (open.seriesUid) resultSeries.set(path, open);
        else resultSeries.delete(path);
        const autosaveError = await sessions.started(resultId, path, out.document, r, {
          modelId: request.modelId,
          modelVersion: out.document.model?.version ?? '',
          options: { ...(request.overlap !== undefined ? { overlap: request.overlap } : {}), ...(request.device ? { device: request.device } : {}) },
        });
        return { document: out.document, overlay: out.overlay, resultId, probabilities: results.hasProbabilities(resultId), ...(autosaveError ? { autosaveError } : {}) };
      } finally {
        await src.close();
      }
    },
    async windows(path, open = {}) {
      return sources.use(path, open, (src) => volumeWindows(src));
    },
    async patient(path, open = {}) {
      return sources.use(path, open, async (src) => {
        const first = (src as { firstFile?: unknown }).firstFile;
        return src.format === 'dicom' && typeof first === 'string' ? readPatientHeader(first) : {};
      });
    },
    async scanFolder(path, onProgress, signal) {
      return scanDicomFolder(path, { onProgress, signal });
    },
    async probe(path, x, y, z, open = {}) {
      return sources.use(path, open, (src) => probePixel(src, x, y, z));
    },
    async resultSlice(request) {
      if (disk.has(request.resultId)) return disk.slice(request.resultId, request.z, request.maxSize, request.axis);
      return results.slice(request.resultId, request.z, request.maxSize, request.axis);
    },
    async resultProbability(request) {
      if (disk.has(request.resultId)) return disk.probability(request);
      return results.probability(request);
    },
    async resultTile(request) {
      return disk.has(request.resultId) ? disk.tile(request) : results.tile(request);
    },
    async resultProbabilityTile(request) {
      return disk.has(request.resultId) ? disk.probabilityTile(request) : results.probabilityTile(request);
    },
    async resultInstances(request) {
      return disk.has(request.resultId) ? disk.instancePage(request) : results.instancePage(request);
    },
    async resultInstanceAt(resultId, x, y, z) {
      return disk.has(resultId) ? disk.instanceAt(resultId, x, y, z) : results.instanceAt(resultId, x, y, z);
    },
    // Each reply goes out only once the autosave holds the change, so a crash after it loses nothing.
    // An autosave that cannot be written (full disk, folder gone) is said in the reply, not only in a log.
    async editResult(resultId, operation) {
      // Disk-kept results have no autosave yet: their edits live in this host only.
      if (disk.has(resultId)) return disk.edit(resultId, operation);
      const r = await results.edit(resultId, operation);
      const autosaveError = await sessions.recorded(resultId, { edit: operation });
      return autosaveError ? { ...r, autosaveError } : r;
    },
    async undoEdit(resultId) {
      if (disk.has(resultId)) return disk.undo(resultId);
      const r = await results.undo(resultId);
      const autosaveError = await sessions.recorded(resultId, 'undo');
      return autosaveError ? { ...r, autosaveError } : r;
    },
    async redoEdit(resultId) {
      if (disk.has(resultId)) return disk.redo(resultId);
      const r = await results.redo(resultId);
      const autosaveError = await sessions.recorded(resultId, 'redo');
      return autosaveError ? { ...r, autosaveError } : r;
    },
    closeResult: (resultId) => (disk.has(resultId) ? disk.close(resultId) : sessions.close(resultId)),
    async saveSession(resultId, file, view) {
      if (disk.has(resultId)) throw new Error('a session of a result kept on disk (a windowed run of a large raster) cannot be saved yet: export it (GeoTIFF, JSON or CSV) instead');
      return sessions.save(resultId, file, view);
    },
    openSession: (file) => sessions.open(file),
    listAutosaves: () => sessions.list(),
    recoverAutosave: (sessionId) => sessions.recover(sessionId),
    discardAutosave: (sessionId) => sessions.discard(sessionId),
    async compareRun(inputs, request, onProgress, signal) {
      const needsModel = inputs.some((i) => !i.resultId);
      let model = request.model;
      if (needsModel && !model) {
        // The installed model that suits the first image best: no warning at all, else any that is not unfit.
        const scan = await scanModels();
        const usable = scan.models.filter((m) => m.manifest.task !== 'prompt');
        const fit = await sources.use(inputs[0]!.path, {}, async (src) => {
          const traits = await imageTraits(src, usable.map((m) => m.manifest));
          const checked = usable.map((m) => ({ id: m.manifest.id, warnings: checkCompatibility(m.manifest, traits) }));
          // 'series' warnings are about the image, the same for every model: they do not rank the models.
          const aboutModel = (c: { warnings: RunWarning[] }): RunWarning[] => c.warnings.filter((w) => w.code !== 'series');
          return checked.find((c) => aboutModel(c).length === 0) ?? checked.find((c) => !isUnfit(c.warnings));
        });
        if (!fit) throw new Error(`no installed model suits ${inputs[0]!.path.split(/[\\/]/).pop()}: segment each date first, or add a model`);
        model = fit.id;
      }
      const compareInputs = inputs.map((i) => {
        const series = i.seriesUid ? { seriesUid: i.seriesUid } : {};
        if (!i.resultId) return { path: i.path, ...series };
        if (disk.has(i.resultId)) throw new Error(`comparing a result kept on disk (a windowed run of ${i.path.split(/[\\/]/).pop()}) is not available: compare smaller images`);
        const snap = results.snapshot(i.resultId);
        // A result of another image would put one date's lesions on another date's pixels.
        if (resolvePath(snap.path) !== resolvePath(i.path)) throw new Error(`result ${i.resultId} belongs to another image than ${i.path.split(/[\\/]/).pop()}`);
        return { path: i.path, ...series, result: snap };
      });
      return comparisons.run(compareInputs, {
        ...(model ? { model } : {}),
        ...(request.register ? { register: request.register } : {}),
        ...(request.dates ? { dates: request.dates } : {}),
        signal,
        onProgress: (f, stage) => onProgress({ stage, done: Math.round(f * 1000), total: 1000 }),
      });
    },
    async compareSlice(request) {
      return comparisons.slice(request);
    },
    compareClose: (compareId) => comparisons.close(compareId),
    async compareTargets(compareId, tracks) {
      return comparisons.targets(compareId, tracks);
    },
    async compareExportReport(compareId, tracks, out, deidentify) {
      await comparisons.exportReport(compareId, tracks, out, deidentify);
      return [out];
    },
    async exportResult(resultId, format, out, opts) {
      if (disk.has(resultId)) return disk.export(resultId, format, out, opts.deidentify ? { deidentify: true } : {});
      const snap = results.snapshot(resultId);
      const z = opts.z ?? Math.floor(snap.depth / 2);
      const exportOptions: ExportOptions = { z, ...(opts.deidentify ? { deidentify: true } : {}), ...(opts.measurements?.length ? { measurements: opts.measurements } : {}), ...(opts.pixelSize ? { pixelSize: opts.pixelSize } : {}) };
      if (format === 'png' && !opts.deidentify && z >= 0 && z < snap.depth) {
        // The snapshot shows the image under the labels (left out when de-identifying: pixels can identify).
        const open = resultSeries.get(snap.path) ?? {};
        const channels = await sources.use(snap.path, open, async (src) => Array.from({ length: Math.min(3, src.channels) }, (_, i) => i));
        exportOptions.background = await sources.use(snap.path, open, (src) => src.read({ z, depth: 1, channels: channels.length === 2 ? [0] : channels }));
      }
      return exportResult({ dir: snap.path, ...snap }, format, out, exportOptions);
    },
    async newResult(path, modelId, open = {}) {
      const made = await emptyResult(path, open, modelId);
      const resultId = results.add(made.input);
      if (open.seriesUid) resultSeries.set(path, open);
      else resultSeries.delete(path);
      // Recorded like a model's result: its (empty) base is written and every accepted object is an edit in the log.
      const autosaveError = await sessions.started(resultId, path, made.input.document, made.rasters, { modelId: made.model.id, modelVersion: made.model.version, options: { empty: true } });
      return { resultId, document: made.input.document, ...(autosaveError ? { autosaveError } : {}) };
    },
    promptModels: listPromptModels,
    promptOpen: (path, modelId, open = {}) => prompts.open(path, open, modelId),
    promptClick: (r) => prompts.click(r.promptId, r.z, r.x, r.y, r.positive),
    promptBox: (r) => prompts.box(r.promptId, r.z, { x0: r.x0, y0: r.y0, x1: r.x1, y1: r.y1 }),
    promptPropagate: (r, onProgress, signal) => prompts.propagate(r.promptId, r.z, (done, total) => onProgress({ stage: 'propagating', done, total }), signal),
    promptClear: (promptId) => prompts.clear(promptId),
    promptClose: (promptId) => prompts.close(promptId),
  };
}
