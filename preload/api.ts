// THE contract between renderer, preload and main: every channel, its arguments and its result.
// main/ipc implements `InvokeHandlers` (checked with `satisfies`), preload/index.ts exposes one method per
// channel, the test host serves the same handlers over a loopback socket. Change a channel here first.

import type { ImageInfo, ImageKind, InferenceRecord, InstanceRecord, InstancesDocument, ModelSummary, RunWarning } from './formats';
import type { CompareId, CompareRequest, CompareResult, CompareSlice, CompareSliceRequest, MedicalChangeDocument } from './compare';

export type * from './formats';
export type * from './compare';

/** Opaque id the main process issues for a file the user picked or dropped. Never a path. */
export type FileHandle = string;

export interface OpenedImage {
  handle: FileHandle;
  /** Base name only, for display. */
  name: string;
  info: ImageInfo;
  /** The series the handle is pinned to, when one was chosen ('file:open-series', or a recent entry). */
  seriesInstanceUid?: string;
  /** Autosaved work on this very image that nobody has open (a crash or a quit without saving left it), newest first. */
  autosaves?: RecoverableSession[];
}

/** Opaque id of a recent-files entry (main keeps the path behind it). */
export type RecentId = string;

/** A recently opened image or series folder, as the renderer sees it: never a path. */
export interface RecentFile {
  id: RecentId;
  /** Base name of the file or folder. */
  name: string;
  kind?: ImageKind;
  /** True for a folder (a DICOM series or a slice stack). */
  folder?: boolean;
  /** The chosen series' description (or its short UID), when a series was picked in a folder of several. */
  series?: string;
  /** ISO time it was last opened. */
  openedAt: string;
}

/** Which execution providers a model run will try, in order (the last is always cpu), and why others are out. */
export interface DevicePlan {
  candidates: Array<InferenceRecord['device']>;
  /** Providers ruled out before trying: "cuda: the CUDA provider libraries are not installed ...". */
  skipped: string[];
}

export interface AppInfo {
  name: string;
  version: string;
  platform: string;
  /** How the renderer is hosted: the Electron app or the browser test host. */
  host: 'electron' | 'testhost';
}

/** The app's licence and the third-party notices, for the About view (model licences come with models:list). */
export interface LicenseTexts {
  /** The app's own licence (LICENSE), or null when this copy lacks the file. */
  app: string | null;
  /** THIRD-PARTY-NOTICES.txt: every shipped third-party package with its licence text; null when missing. */
  thirdParty: string | null;
}

/**
 * Which plane of a volume a slice shows. axial: fixed z (rows y, columns x); coronal: fixed y (rows z, columns x);
 * sagittal: fixed x (rows z, columns y). Coronal and sagittal rows run superior at the top (render/reformat.ts).
 */
export type SliceAxis = 'axial' | 'coronal' | 'sagittal';

export interface SliceRequest {
  handle: FileHandle;
  /** Slice index along `axis` (z for axial, y for coronal, x for sagittal; 0 for 2D). */
  z: number;
  /** Default 'axial'. */
  axis?: SliceAxis;
  /** Longest side of the returned bitmap; the engine downsamples larger images. */
  maxSize: number;
  /** Display window in modality values; default: the file's window, else a 0.5-99.5 percentile stretch. */
  window?: { center: number; width: number };
  /** Bands shown as R,G,B (0-based); default: first three, or the single band as grey. */
  bands?: number[];
}

export interface SliceBitmap {
  width: number;
  height: number;
  /** Scale from bitmap pixels to image pixels (>= 1 when downsampled). */
  scale: number;
  /** RGBA, width*height*4 bytes. */
  rgba: Uint8Array;
  window: { center: number; width: number };
  /** One window per shown band when the default per-band stretch was used (`window` is then the first band's). */
  bandWindows?: Array<{ center: number; width: number }>;
  /** The plane shown (absent: axial). */
  axis?: SliceAxis;
  /** Full-resolution pixels of the plane: [columns, rows] (axial: [width, height]; coronal: [width, depth]; sagittal: [height, depth]). */
  planeSize?: [number, number];
  /** Row 0 shows the last voxel along the plane's row axis (coronal/sagittal: the highest z, when z runs superior). */
  flipRows?: boolean;
  /** Physical size of one full-resolution plane pixel, [column, row] in mm, when the image has a spacing. */
  spacingMm?: [number, number];
}

/** One window/level preset of an image ('image:windows'): modality presets (CT, in HU) or volume percentiles. */
export interface WindowPresetInfo {
  id: string;
  label: string;
  center: number;
  width: number;
  /** 'file': the file's own window; 'modality': fixed values (CT in HU); 'percentile': of the whole volume. */
  kind: 'file' | 'modality' | 'percentile';
}

/** The window presets of an image by its modality, which one Auto applies, and its value range. */
export interface ImageWindows {
  presets: WindowPresetInfo[];
  /** The preset Auto applies ('' when none: the engine's per-slice stretch). */
  autoId: string;
  /** 0.5th and 99.5th percentiles of the volume: right-drag window/level moves in steps of this range. */
  rangeLow: number;
  rangeHigh: number;
  /** 'HU' for CT; absent for signal units. */
  valueUnit?: string;
  /** 16-bit, 32-bit and float 2D rasters: per-band statistics and the per-band stretch shown by default. */
  bandStats?: BandStatsSummary;
}

/** Statistics of one band (nodata, NaN and masked pixels left out), for the display panel. */
export interface BandStatsInfo {
  /** 0-based band index. */
  band: number;
  validCount: number;
  min: number;
  max: number;
  mean: number;
  stdDev: number;
  /** Values at the stretch's low and high percentiles (BandStatsSummary.lowPct / highPct). */
  low: number;
  high: number;
}

/** Band statistics from the smallest adequate overview, and the percentiles of the default per-band stretch. */
export interface BandStatsSummary {
  bands: BandStatsInfo[];
  /** Pixels of the level the statistics were computed on (an overview, or full resolution). */
  levelWidth: number;
  levelHeight: number;
  lowPct: number;
  highPct: number;
}

/**
 * Who and what a medical image is, for the header over the views. Read only on request through this channel, never
 * put in ImageInfo, logs, errors or exports; the renderer hides it while de-identification is on.
 */
export interface PatientHeader {
  patientName?: string;
  patientId?: string;
  /** StudyDate as YYYY-MM-DD. */
  studyDate?: string;
  studyDescription?: string;
  seriesDescription?: string;
  modality?: string;
}

/** A folder the user picked (Open folder...), before it is scanned. */
export interface PickedFolder {
  handle: FileHandle;
  /** Base name, for display. */
  name: string;
}

/** A small preview of a series' middle image, rendered by the engine. */
export interface Thumbnail {
  width: number;
  height: number;
  /** RGBA, width*height*4 bytes. */
  rgba: Uint8Array;
  /** Height over width of one pixel (row over column spacing), so non-square pixels are drawn to scale. */
  pixelAspect?: number;
}

/** One series found by 'folder:scan'. */
export interface ScannedSeries {
  /** SeriesInstanceUID; 'file:open-series' with the folder's handle opens it. */
  uid: string;
  description?: string;
  modality?: string;
  /** Images (frames) in the series. */
  images: number;
  /** [width, height, depth] in voxels. */
  size: [number, number, number];
  thumbnail?: Thumbnail;
  /** Why it cannot be opened, when the scan already knows (e.g. an undecodable transfer syntax). */
  problem?: string;
  /**
   * Slices missing or unevenly spaced: it opens only with gaps allowed ('file:open-series' with allowGaps), stacked at
   * its usual spacing, and every run says so. The text says what is wrong.
   */
  gaps?: string;
}

/** How 'file:open-series' opens the series. */
export interface OpenSeriesOptions {
  /** Open a series with missing slices or uneven spacing anyway (stacked at its usual spacing; runs warn). */
  allowGaps?: boolean;
}

/** One study found by 'folder:scan', with its series. Patient fields are hidden while de-identification is on. */
export interface ScannedStudy {
  /** StudyInstanceUID ('' when the files have none). */
  uid: string;
  description?: string;
  /** YYYY-MM-DD. */
  date?: string;
  patientName?: string;
  patientId?: string;
  series: ScannedSeries[];
}

/** What a recursive scan of a picked folder found. */
export interface FolderScan {
  handle: FileHandle;
  name: string;
  studies: ScannedStudy[];
  /** Files looked at, and those that were not DICOM images (or could not be read). */
  filesScanned: number;
  skippedFiles: number;
}

/** Tile sizes the viewer may ask for (edge pixels of a square tile). */
export type TileSize = 256 | 512;

/** Which pyramid tile: the same for image tiles and result tiles, so both are asked for (and checked) alike. */
export interface TilePosition {
  level: number;
  /** Tile column and row at that level. */
  x: number;
  y: number;
  tileSize: TileSize;
  /** Slice index (0 for 2D). */
  z: number;
}

/**
 * One tile of a multi-resolution pyramid of a slice: level 0 is full resolution and each level halves it (2^level
 * image pixels per tile pixel). The engine renders it from the best stored overview or builds it from finer tiles.
 */
export interface TileRequest extends TilePosition {
  handle: FileHandle;
  /** Display window; pass the preview's (SliceBitmap.window) so tiles match it. Default: as for 'image:slice'. */
  window?: { center: number; width: number };
  /** One window per shown band (the preview's SliceBitmap.bandWindows); takes precedence over `window`. */
  bandWindows?: Array<{ center: number; width: number }>;
  /** Bands shown as R,G,B (0-based), as for 'image:slice'. */
  bands?: number[];
}

/** Where a pyramid tile sits: image tiles and result tiles alike, so both cover pixels by the same rule. */
export interface TilePlacement {
  level: number;
  /** Tile column and row at that level. */
  x: number;
  y: number;
  /** Tile pixels (edge tiles are smaller than tileSize). */
  width: number;
  height: number;
  /** The full-resolution image pixels the tile covers: [x, y, width, height]. */
  imageRect: [number, number, number, number];
}

export interface TileBitmap extends TilePlacement {
  /** RGBA, width*height*4 bytes. */
  rgba: Uint8Array;
  window: { center: number; width: number };
}

export interface SegmentRequest {
  handle: FileHandle;
  modelId: string;
  device?: 'auto' | 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu';
  overlap?: number;
  /** false: skip the manifest's component filters (e.g. keep every lesion, not only the largest). Default true. */
  modelPostprocess?: boolean;
}

export interface SegmentResult {
  jobId: string;
  document: InstancesDocument;
  /** Label overlay for slice 0 (or the middle slice), RGBA at the preview size. */
  overlay?: SliceBitmap;
  /** The result kept in the engine host (label and instance maps) for 'result:slice' and 'result:edit'. */
  resultId?: ResultId;
  /** The host kept the per-class probability maps ('result:probability'); false when they were over its memory cap. */
  probabilities?: boolean;
  /** The result is kept but its autosave could not be written (why): a crash now would lose it. */
  autosaveError?: string;
  /**
   * Set when the result is kept on disk (windowed Run of a large raster): document.instances is then EMPTY (records
   * come from 'result:instances'), document.classes is complete, and 'result:slice' still answers with a preview-size
   * map (nearest sampling).
   */
  windowed?: { width: number; height: number; instanceCount: number };
}

/** Opaque id of a segmentation result the engine host keeps (its instance map is the truth edits change). */
export type ResultId = string;

export interface ResultSliceRequest {
  resultId: ResultId;
  /** Slice index along `axis` (0 for 2D). */
  z: number;
  /** Default 'axial'; coronal/sagittal maps line up pixel for pixel with 'image:slice' of the same axis. */
  axis?: SliceAxis;
  /** Longest side of the returned map; larger results are sampled (nearest pixel), as image previews are. */
  maxSize: number;
}

/** Instance ids of one slice at preview scale: the renderer colours them by class, outlines and highlights them. */
export interface ResultSlice {
  resultId: ResultId;
  z: number;
  /** The plane (absent: axial). */
  axis?: SliceAxis;
  /** Edit revision the map reflects (0 = as the model produced it). */
  revision: number;
  width: number;
  height: number;
  /** Image pixels per map pixel along x and y (1 when not downsampled). */
  scaleX: number;
  scaleY: number;
  /** Instance id per map pixel, row-major (0 = none); each instance's class is in the document. */
  instances: Uint32Array;
}

/**
 * A result kept on disk (windowed Run of a large raster): the renderer asks for tiles and pages instead of maps.
 * Tiles are placed as TileRequest's: level 0 full resolution, each level halves; tile column/row at that level.
 */
export interface ResultTileRequest extends TilePosition {
  resultId: ResultId;
}

/** One tile of a result's instance map, for in-memory and disk-kept results alike. */
export interface ResultTile extends TilePlacement {
  resultId: ResultId;
  revision: number;
  /** Instance id per tile pixel (nearest sample of the 2^level block's top-left pixel at coarser levels). */
  instances: Uint32Array;
}

export interface ResultProbabilityTileRequest extends ResultTileRequest {
  classId: number;
}

export interface ResultProbabilityTile extends Omit<ResultTile, 'instances'> {
  classId: number;
  /** 0..255 */
  probability: Uint8Array;
}

/** One page of a result's instance records (the table pages through results too large to send whole). */
export interface ResultInstancesRequest {
  resultId: ResultId;
  offset: number;
  /** At most 1000. */
  limit: number;
  sort?: { key: 'id' | 'area' | 'class' | 'meanProbability'; descending?: boolean };
  /** Only instances of this class. */
  classId?: number;
}

export interface ResultInstancesPage {
  resultId: ResultId;
  revision: number;
  /** Instances matching the filter (all pages together). */
  total: number;
  offset: number;
  instances: InstanceRecord[];
}

/** One class's model probability on one slice, at the same preview size and orientation as 'result:slice'. */
export interface ResultProbabilityRequest {
  resultId: ResultId;
  classId: number;
  /** Slice index along `axis`. */
  z: number;
  axis?: SliceAxis;
  maxSize: number;
}

export interface ResultProbability {
  resultId: ResultId;
  classId: number;
  z: number;
  axis?: SliceAxis;
  /** Edit revision: pixels edits touched carry no model probability (0 there). */
  revision: number;
  width: number;
  height: number;
  scaleX: number;
  scaleY: number;
  /** Probability x 255 per map pixel, row-major. */
  values: Uint8Array;
  /** Map pixels a person edited (1), where `values` is 0 because the model's probability does not describe them. */
  edited: Uint8Array;
}

/** A brush or eraser stroke on one slice: discs of radiusPx (x, y, in image pixels) swept along the points. */
export interface StrokeGeometry {
  z: number;
  /** Image pixel coordinates [x, y] of the stroke's path (pixel centres at integer + 0.5 are not assumed). */
  points: Array<[number, number]>;
  /** Brush radius along x and y in image pixels (a round brush in mm is elliptic in pixels on anisotropic images). */
  radiusPx: [number, number];
}

/**
 * Named edit operations on a result's instance map (the instance map is the truth; each instance keeps its class).
 * The engine host applies them, recomputes the measurements and keeps the undo stack; the session replays them.
 */
export type EditOperation =
  /** Paints into an existing instance, or into a new instance of a class (the host picks the new id). */
  | ({ op: 'paintStroke'; target: { instanceId: number } | { newInstanceOfClass: number } } & StrokeGeometry)
  /** Clears every instance under the stroke (or only `instanceId`). */
  | ({ op: 'eraseStroke'; instanceId?: number } & StrokeGeometry)
  | { op: 'deleteInstance'; instanceId: number }
  | { op: 'setInstanceClass'; instanceId: number; classId: number }
  /**
   * Fills a polygon (clicked vertices) or lasso (freehand path) on slice z: the pixels whose centre lies inside the
   * closed path by the even-odd rule. Paints over other instances, never over nodata.
   */
  | { op: 'fillPolygon'; z: number; points: Array<[number, number]>; target: PaintTarget }
  /** Clears the pixels inside a polygon on slice z (even-odd, pixel centres): every instance, or only `instanceId`. */
  | { op: 'erasePolygon'; z: number; points: Array<[number, number]>; instanceId?: number }
  /**
   * Fills the instance's enclosed holes: empty pixels it surrounds on a slice (background that reaches the edge of
   * its bounding box is not a hole; other instances inside are kept). On slice z, or on every slice when z is absent.
   */
  | { op: 'fillHoles'; instanceId: number; z?: number }
  /**
   * Cuts the instance along a polyline drawn on slice z (on a volume: every slice of the instance along the same xy
   * line). The pieces are the connected parts left (the result's connectivity); the largest keeps the id, each other
   * becomes a new instance of the same class; line pixels go to the nearest piece. Refused when nothing separates.
   */
  | { op: 'splitInstance'; instanceId: number; z: number; line: Array<[number, number]> }
  /** Relabels the 2nd.. instances as the first (its id and class). */
  | { op: 'mergeInstances'; instanceIds: number[] }
  /**
   * Flood fill on slice z's channel-0 intensities, 4-connected from the seed pixel, over pixels within the seed's
   * value ± tolerance (modality units: HU for CT) and within maxRadiusPx of the seed, painted into the target.
   */
  | { op: 'regionGrow'; z: number; seed: [number, number]; tolerance: number; maxRadiusPx: number; target: PaintTarget }
  /**
   * The AI tool's object, accepted: every slice's mask travels in the operation (run-length encoded) so undo, redo
   * and session replay need no model. Painted like fillPolygon: over other instances, never over nodata.
   */
  | { op: 'acceptPrompt'; masks: MaskRle[]; target: PaintTarget };

/**
 * A mask on one slice as a run-length encoded window: the box x0..x0+width-1, y0..y0+height-1 read row by row, as
 * alternating run lengths starting with a run of 0s (which may be 0 long); the runs add up to width * height.
 */
export interface MaskRle {
  z: number;
  x0: number;
  y0: number;
  width: number;
  height: number;
  runs: number[];
}

/** Where a paint or fill goes: an existing instance, or a new instance of a class (the host picks the new id). */
export type PaintTarget = { instanceId: number } | { newInstanceOfClass: number };

export type EditOperationName = EditOperation['op'];

/** Every operation name, for readers of stored edit logs (sessions). */
export const EDIT_OPERATION_NAMES = ['paintStroke', 'eraseStroke', 'deleteInstance', 'setInstanceClass', 'fillPolygon', 'erasePolygon', 'fillHoles', 'splitInstance', 'mergeInstances', 'regionGrow', 'acceptPrompt'] as const satisfies readonly EditOperationName[];

/** Opaque id of a live AI-tool session (model and clicks) the engine host keeps for one image. */
export type PromptId = string;

export interface PromptOpened {
  promptId: PromptId;
  modelId: string;
  modelName: string;
  /** 'clickmaps' (our click models) or 'sam' (a SAM-family encoder/decoder pair). */
  format: string;
}

/** An include (positive) or exclude click at image pixel (x, y) of slice z. */
export interface PromptClickRequest {
  promptId: PromptId;
  z: number;
  x: number;
  y: number;
  positive: boolean;
}

/** A box on slice z, corners inclusive (in any order). */
export interface PromptBoxRequest {
  promptId: PromptId;
  z: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Carry slice z's object through the volume (a correction on any slice re-propagates from there). */
export interface PromptPropagateRequest {
  promptId: PromptId;
  z: number;
}

/** The AI tool's object after a click, box or propagation. */
export interface PromptState {
  promptId: PromptId;
  /** The slice the call worked from. */
  z: number;
  /** The object on every slice that holds some of it (small: run-length encoded windows, one per slice). */
  masks: MaskRle[];
  /** Slices that hold the object, ascending. */
  slices: number[];
  /** onnxruntime time of this call in seconds (no loading or transfer). */
  modelSeconds: number;
  /** Model steps the call ran (a click: 1; propagation: one per slice it reached). */
  steps: number;
}

/** An empty result for an image ('result:new'): what manual work and the AI tool start from without a model run. */
export interface NewResult {
  resultId: ResultId;
  document: InstancesDocument;
  autosaveError?: string;
}

/** The result after an edit, an undo or a redo. */
export interface EditResult {
  resultId: ResultId;
  revision: number;
  document: InstancesDocument;
  /** Instances whose pixels changed (their records were measured again). */
  changedInstanceIds: number[];
  /** Slices the change touched, inclusive (for refreshing what is shown). */
  zRange: [number, number] | null;
  /** The instance a paint created, when it did. */
  createdInstanceId?: number;
  /** The new instances a split created. */
  createdInstanceIds?: number[];
  /**
   * Results kept on disk (whose document lists no records): the current records of the changed ids that are still
   * objects (the first 200), so a selected object's measurements follow the edit.
   */
  changedRecords?: InstanceRecord[];
  /** Applied operations, oldest first (the undo stack), and undone ones (the redo stack, next redo last). */
  undoStack: EditOperationName[];
  redoStack: EditOperationName[];
  /** The edit is applied but its autosave could not be written (why): a crash now would lose it. */
  autosaveError?: string;
}

export interface ProbeRequest {
  handle: FileHandle;
  /** Image pixel indices. */
  x: number;
  y: number;
  z: number;
}

/** What is under the cursor: stored values (HU for CT) and where it is in the world. */
export interface PixelProbe {
  x: number;
  y: number;
  z: number;
  /** One value per channel (modality values; null for nodata/NaN). */
  values: Array<number | null>;
  /** Patient LPS position in mm (medical), or user-spaced mm. */
  worldMm?: [number, number, number] | [number, number];
  /** Map coordinates in CRS units (geo). */
  mapXY?: [number, number];
  /** WGS84 [lon, lat] when the CRS can be transformed offline. */
  lonLat?: [number, number] | null;
  /** What the values are: 'HU' for CT, else undefined. */
  valueUnit?: string;
}

/** What the user can export a result as (engine/export/exporter.ts writes each, atomically). */
export const RESULT_EXPORT_FORMATS = ['seg', 'rtstruct', 'nifti', 'geotiff', 'geojson', 'gpkg', 'shp', 'csv', 'json', 'png'] as const;
export type ResultExportFormat = (typeof RESULT_EXPORT_FORMATS)[number];

/** Export of the result shown; main asks where to write it (save dialog), so no path comes from the renderer. */
export interface ExportRequest {
  /** The image the result belongs to (names the file the save dialog suggests). */
  handle: FileHandle;
  resultId: ResultId;
  format: ResultExportFormat;
  /** Slice the PNG snapshot shows (default: the middle one). */
  z?: number;
  /** Leave patient name, ID, dates and the source path out (every format but DICOM SEG). */
  deidentify?: boolean;
  /** Manual measurements of the image: CSV and JSON list them, the PNG snapshot draws those on slice z. */
  measurements?: ExportMeasurement[];
  /** The pixel size given to an image without geometry: CSV and JSON then carry mm²/mm or m²/m, as the panel shows. */
  pixelSize?: PixelSize;
}

/** The part of the view a session keeps. */
export interface SessionView {
  z?: number;
  window?: { center: number; width: number };
  /** Manual measurements (ruler, bidirectional) of the image, in image pixels; lengths are recomputed on opening. */
  measurements?: SessionMeasurement[];
  /** Pixel size the user gave an image without geometry (PNG, JPEG): areas and lengths are shown in its unit. */
  pixelSize?: PixelSize;
}

/** Length of one pixel side of an image without geometry, as the user typed it. */
export interface PixelSize {
  value: number;
  unit: 'mm' | 'm';
}

export interface SessionMeasurement {
  z: number;
  kind: 'ruler' | 'bidirectional';
  /** Ruler: [a, b]. Bidirectional: [longA, longB, shortA, shortB]. Image pixel coordinates. */
  points: Array<[number, number]>;
}

/** A manual measurement sent with an export, with the number the app shows for it (M1, M2 ...). */
export interface ExportMeasurement extends SessionMeasurement {
  id: number;
}

export interface SaveSessionRequest {
  handle: FileHandle;
  resultId: ResultId;
  view: SessionView;
}

/** A file main wrote where the user chose: base names only (sidecars too, e.g. a Shapefile's .dbf/.shx/.prj). */
export interface SavedFile {
  name: string;
  files: string[];
}

/** An autosaved session nobody has open: work a crash or a quit without saving left behind. */
export interface RecoverableSession {
  /** Opaque id (letters, digits, _ and -); 'session:recover' and 'session:discard' take it. */
  sessionId: string;
  /** Base name of the image, for display. */
  imageName: string;
  savedAt: string;
  /** Completed edits the autosave holds. */
  editCount: number;
  modelId?: string;
}

/** A result rebuilt in the engine host from a session: the model's output with the edit log replayed. */
export interface RestoredResult {
  resultId: ResultId;
  revision: number;
  document: InstancesDocument;
  undoStack: EditOperationName[];
  redoStack: EditOperationName[];
}

/** What opening or recovering a session gives the renderer: the image (a fresh handle), its result and view. */
export interface OpenedSession {
  image: OpenedImage;
  result: RestoredResult;
  view: SessionView;
  /** The image changed or moved since the session was saved, and the like. */
  warnings: string[];
}

export type EngineState = 'starting' | 'ready' | 'crashed' | 'stopped';

export interface EngineStatus {
  state: EngineState;
  pid?: number;
  /** Why it stopped, when it did. */
  message?: string;
  restarts: number;
}

/** How one installed model suits the open image, before Run (see RunWarning in formats.ts). */
export interface ModelCompatibility {
  modelId: string;
  warnings: RunWarning[];
  /** The model does not fit the image at all (another kind, or channels it cannot read): the picker leaves it out. */
  unfit: boolean;
}

export interface JobProgress {
  jobId: string;
  stage: string;
  done: number;
  total: number;
  etaSeconds?: number;
}

/** Invoke channels: renderer asks, main answers. */
export interface InvokeChannels {
  'app:info': { args: []; result: AppInfo };
  'app:licenses': { args: []; result: LicenseTexts };
  /**
   * Closes the window. Sent by the renderer once closing is settled (nothing unsaved, or the user chose Save or
   * Discard): a close the user starts with unsaved work is held by the page and asked about first.
   */
  'app:close-window': { args: []; result: void };
  'file:open-dialog': { args: []; result: OpenedImage | null };
  /** Asks for a folder (a DICOM series folder or a slice stack: file dialogs cannot pick folders on every OS). */
  'file:open-folder-dialog': { args: []; result: OpenedImage | null };
  /** Preload resolves the dropped File to a path inside the trusted preload; the renderer never sees it. */
  'file:open-dropped': { args: [droppedPath: string]; result: OpenedImage };
  'file:close': { args: [handle: FileHandle]; result: void };
  /** Opens one series of the folder behind `handle` (ImageInfo.series lists them) under a new handle. */
  'file:open-series': { args: [handle: FileHandle, seriesInstanceUid: string, options: OpenSeriesOptions]; result: OpenedImage };
  /** Recently opened images and series folders, newest first (at most 10). */
  'recent:list': { args: []; result: RecentFile[] };
  /** Opens a recent entry again; a file that is gone gives an error naming it and leaves the list. */
  'recent:open': { args: [id: RecentId]; result: OpenedImage };
  'recent:remove': { args: [id: RecentId]; result: void };
  'image:info': { args: [handle: FileHandle]; result: ImageInfo };
  'image:slice': { args: [request: SliceRequest]; result: SliceBitmap };
  'image:tile': { args: [request: TileRequest]; result: TileBitmap };
  /** Window presets by modality (CT in HU; MR and others: percentiles of the volume) and the value range. */
  'image:windows': { args: [handle: FileHandle]; result: ImageWindows };
  /** Patient name/ID, study date and descriptions of a DICOM image (empty for other files). */
  'image:patient': { args: [handle: FileHandle]; result: PatientHeader };
  /** Asks for a folder (folder dialog) and issues a handle for it without opening anything; null when cancelled. */
  'folder:pick-dialog': { args: []; result: PickedFolder | null };
  /** Scans a picked folder and its subfolders for DICOM studies and series, with thumbnails; cancellable job. */
  'folder:scan': { args: [jobId: string, handle: FileHandle]; result: FolderScan };
  'models:list': { args: []; result: ModelSummary[] };
  /** Asks for an .onnx model (open dialog), checks it and installs it as a user model; null when cancelled. */
  'models:add': { args: []; result: ModelSummary | null };
  /** Removes a user-added model (shipped models are refused). */
  'models:remove': { args: [modelId: string]; result: void };
  /** The execution providers a run will try, before running. */
  'models:device': { args: []; result: DevicePlan };
  /** How each installed model suits this image (kind, channels, resolution), shown before Run. */
  'models:compatibility': { args: [handle: FileHandle]; result: ModelCompatibility[] };
  'segment:run': { args: [jobId: string, request: SegmentRequest]; result: SegmentResult };
  'job:cancel': { args: [jobId: string]; result: boolean };
  'engine:status': { args: []; result: EngineStatus };
  'engine:restart': { args: []; result: EngineStatus };
  'image:probe': { args: [request: ProbeRequest]; result: PixelProbe };
  'result:slice': { args: [request: ResultSliceRequest]; result: ResultSlice };
  'result:probability': { args: [request: ResultProbabilityRequest]; result: ResultProbability };
  /** One tile of a result's instance map at a pyramid level (disk-kept and in-memory results alike). */
  'result:tile': { args: [request: ResultTileRequest]; result: ResultTile };
  /** One tile of one class's model probability (when the result kept its probabilities). */
  'result:probability-tile': { args: [request: ResultProbabilityTileRequest]; result: ResultProbabilityTile };
  /** A page of instance records, sorted and filtered by class. */
  'result:instances': { args: [request: ResultInstancesRequest]; result: ResultInstancesPage };
  /** The instance under a full-resolution pixel (null: none there). */
  'result:instance-at': { args: [resultId: ResultId, x: number, y: number, z: number]; result: InstanceRecord | null };
  'result:edit': { args: [resultId: ResultId, operation: EditOperation]; result: EditResult };
  'result:undo': { args: [resultId: ResultId]; result: EditResult };
  'result:redo': { args: [resultId: ResultId]; result: EditResult };
  /** Asks where (save dialog) and writes the session there; null when the user cancels. */
  'session:save': { args: [request: SaveSessionRequest]; result: SavedFile | null };
  /** Asks for a session file (open dialog), reopens its image and replays its edits; null when cancelled. */
  'session:open': { args: []; result: OpenedSession | null };
  /** Autosaves left by a crash or an unsaved quit (none of the results open now). */
  'session:recover-list': { args: []; result: RecoverableSession[] };
  'session:recover': { args: [sessionId: string]; result: OpenedSession };
  /** Deletes an autosave the user chose not to recover. */
  'session:discard': { args: [sessionId: string]; result: void };
  /** Done with a result (its work saved, or discarded, and another image opened): the host forgets it and deletes its autosave. */
  'result:close': { args: [resultId: ResultId]; result: void };
  /** Asks where (save dialog) and exports the result there; null when the user cancels. */
  'result:export': { args: [request: ExportRequest]; result: SavedFile | null };
  /** Follow-up comparison of two or more opened images (segmented first where they have no result): a job. */
  'compare:run': { args: [jobId: string, request: CompareRequest]; result: CompareResult };
  /** One date's slice on the common grid with its change overlay. */
  'compare:slice': { args: [request: CompareSliceRequest]; result: CompareSlice };
  /** Done with a comparison: the host forgets it and removes its work files. */
  'compare:close': { args: [compareId: CompareId]; result: void };
  /** The medical document with the RECIST target lesions the user chose (track ids); null: compare's own choice. */
  'compare:targets': { args: [compareId: CompareId, tracks: number[] | null]; result: MedicalChangeDocument };
  /**
   * Writes a medical comparison's DICOM SR measurement report (TID 1500: the track table, the responses and their
   * reasons) with these target lesions (null: compare's own); main asks where (save dialog). Null when cancelled.
   */
  'compare:export-report': { args: [compareId: CompareId, tracks: number[] | null, deidentify: boolean]; result: SavedFile | null };
  /** An empty result for the image, its classes from the model (null: the shipped interactive model for its kind). */
  'result:new': { args: [handle: FileHandle, modelId: string | null]; result: NewResult };
  /** Installed interactive models (task "prompt": shipped click models, SAM-family pairs added by the user). */
  'prompt:models': { args: []; result: ModelSummary[] };
  /** Opens the AI tool's model on the image (null: the shipped interactive model for its kind). */
  'prompt:open': { args: [handle: FileHandle, modelId: string | null]; result: PromptOpened };
  'prompt:click': { args: [request: PromptClickRequest]; result: PromptState };
  'prompt:box': { args: [request: PromptBoxRequest]; result: PromptState };
  /** Propagation through the volume: a job (progress per slice, cancellable). */
  'prompt:propagate': { args: [jobId: string, request: PromptPropagateRequest]; result: PromptState };
  /** Forgets the clicks and the object (Esc); the model stays loaded. */
  'prompt:clear': { args: [promptId: PromptId]; result: void };
  /** Done with the AI tool on this image: the model and its embeddings are released. */
  'prompt:close': { args: [promptId: PromptId]; result: void };
}

/** A menu item the renderer carries out (the renderer owns the open flow, so the menu asks it). */
export interface AppCommand {
  command: 'open-file' | 'open-folder' | 'open-session' | 'save-session' | 'export' | 'open-recent' | 'add-model';
}

/** Event channels: main tells the renderer. */
export interface EventChannels {
  'engine:state': EngineStatus;
  'job:progress': JobProgress;
  'app:command': AppCommand;
}

export type InvokeChannel = keyof InvokeChannels;
export type EventChannel = keyof EventChannels;

/** The renderer-facing method name of every invoke channel: exactly one method per channel. */
export const METHOD_OF_CHANNEL = {
  'app:info': 'appInfo',
  'app:licenses': 'licenses',
  'app:close-window': 'closeWindow',
  'file:open-dialog': 'openFileDialog',
  'file:open-folder-dialog': 'openFolderDialog',
  'file:open-dropped': 'openDropped',
  'file:close': 'closeFile',
  'file:open-series': 'openSeries',
  'recent:list': 'listRecent',
  'recent:open': 'openRecent',
  'recent:remove': 'removeRecent',
  'image:info': 'imageInfo',
  'image:slice': 'imageSlice',
  'image:tile': 'imageTile',
  'image:windows': 'imageWindows',
  'image:patient': 'patientHeader',
  'folder:pick-dialog': 'pickFolder',
  'folder:scan': 'scanFolder',
  'models:list': 'listModels',
  'models:add': 'addModel',
  'models:remove': 'removeModel',
  'models:device': 'devicePlan',
  'models:compatibility': 'modelCompatibility',
  'segment:run': 'segment',
  'job:cancel': 'cancelJob',
  'engine:status': 'engineStatus',
  'engine:restart': 'restartEngine',
  'image:probe': 'probe',
  'result:slice': 'resultSlice',
  'result:probability': 'resultProbability',
  'result:tile': 'resultTile',
  'result:probability-tile': 'resultProbabilityTile',
  'result:instances': 'resultInstances',
  'result:instance-at': 'resultInstanceAt',
  'result:edit': 'editResult',
  'result:undo': 'undoEdit',
  'result:redo': 'redoEdit',
  'session:save': 'saveSession',
  'session:open': 'openSession',
  'session:recover-list': 'listRecoverable',
  'session:recover': 'recoverSession',
  'session:discard': 'discardRecoverable',
  'result:close': 'closeResult',
  'result:export': 'exportResult',
  'compare:run': 'compare',
  'compare:slice': 'compareSlice',
  'compare:close': 'closeCompare',
  'compare:targets': 'compareTargets',
  'compare:export-report': 'exportCompareReport',
  'result:new': 'newResult',
  'prompt:models': 'promptModels',
  'prompt:open': 'promptOpen',
  'prompt:click': 'promptClick',
  'prompt:box': 'promptBox',
  'prompt:propagate': 'promptPropagate',
  'prompt:clear': 'promptClear',
  'prompt:close': 'promptClose',
} as const satisfies Record<InvokeChannel, string>;

export const INVOKE_CHANNELS = Object.keys(METHOD_OF_CHANNEL) as InvokeChannel[];
export const EVENT_CHANNELS = ['engine:state', 'job:progress', 'app:command'] as const satisfies readonly EventChannel[];

/** What main implements: one async function per invoke channel (arguments already validated). */
export type InvokeHandlers = {
  [C in InvokeChannel]: (...args: InvokeChannels[C]['args']) => Promise<InvokeChannels[C]['result']>;
};

/** How an invoke travels over IPC: errors come back as plain messages, never as main-process exceptions. */
export type IpcReply<T = unknown> = { ok: true; value: T } | { ok: false; error: string };

/** The dropped-file method takes the DOM File; the preload turns it into a path the renderer never sees. */
type RendererArgs<C extends InvokeChannel> = C extends 'file:open-dropped' ? [file: File] : InvokeChannels[C]['args'];

/** What the renderer sees as `window.delineate`: one method per invoke channel, plus event subscription. */
export type DelineateApi = {
  [C in InvokeChannel as (typeof METHOD_OF_CHANNEL)[C]]: (...args: RendererArgs<C>) => Promise<InvokeChannels[C]['result']>;
} & {
  on<E extends EventChannel>(event: E, listener: (payload: EventChannels[E]) => void): () => void;
};

declare global {
  interface Window {
    delineate: DelineateApi;
  }
}
