// Output and model formats shared by the engine, the CLI, the IPC contract and the renderer.
// These shapes are contracts other tools read (instances.json, manifest.json): add fields, never rename.

/** What an input is: patient imaging, georeferenced raster, or a plain picture. */
export type ImageKind = 'medical' | 'geo' | 'image';

export type DType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';

export type Vec3 = [number, number, number];
/** GDAL geotransform: [originX, pixelWidth, rowRotation, originY, colRotation, pixelHeight], corner of pixel (0,0). */
export type GeoTransform = [number, number, number, number, number, number];

/** Patient geometry (DICOM/NIfTI). LPS millimetres, origin = centre of voxel (0,0,0). */
export interface MedicalGeometry {
  type: 'medical';
  spacingMm: Vec3;
  originMm: Vec3;
  /** Unit vectors of the x, y and z voxel axes in LPS, x first (9 numbers). */
  direction: number[];
}

/** Map geometry (GeoTIFF). */
export interface GeoGeometry {
  type: 'geo';
  geotransform: GeoTransform;
  /** "EPSG:n" when a code is known, else WKT; null when the file has no CRS. */
  crs: string | null;
}

/** Plain picture: pixel units unless the user supplied a spacing. */
export interface PixelGeometry {
  type: 'pixel';
  /** Physical spacing given by the user (--spacing), in mm; absent means pixel units. */
  spacingMm?: Vec3;
}

export type Geometry = MedicalGeometry | GeoGeometry | PixelGeometry;

/** What `delineate info --json` prints and what the renderer gets for an opened image. */
export interface ImageInfo {
  file: string;
  /** Reader that produced the image: png, jpeg, tiff, geotiff, dicom, nifti, stack. */
  format: string;
  kind: ImageKind;
  width: number;
  height: number;
  depth: number;
  channels: number;
  dtype: DType;
  spacingMm?: Vec3;
  originMm?: Vec3;
  direction?: number[];
  geotransform?: GeoTransform;
  crs?: string | null;
  /** Nodata value: a number, or "nan". */
  nodata?: number | 'nan';
  /** DICOM: every image series found (present when the input held more than one), largest first. */
  series?: SeriesSummary[];
  /**
   * A DICOM series opened with slices missing, or a stack of numbered slices that skips numbers: the planes
   * (zero-based z) that had no image and were filled by linear interpolation between their neighbours, so the
   * acquired slices keep their true positions.
   */
  filledPlanes?: number[];
  /** DICOM: the volume open, when its series holds several at each slice position (time points, echoes, b-values). */
  seriesVolume?: { index: number; of: number };
  /** Reader-specific extras (modality, transfer syntax, overviews ...). Never patient names or IDs. */
  [extra: string]: unknown;
}

/** One image series of a DICOM folder or DICOMDIR. */
export interface SeriesSummary {
  /** SeriesInstanceUID. */
  uid: string;
  description?: string;
  modality?: string;
  /** Number of slices (frames) in the series. */
  slices: number;
  /** [width, height, depth] in voxels. */
  size: [number, number, number];
  transferSyntax: string;
}

// ---------------------------------------------------------------- label maps

/** Label map values: 0 = no class, 1..N = manifest classes in order, NODATA_LABEL = nodata/not processed. */
export const NO_CLASS_LABEL = 0;
export const NODATA_LABEL = 255;
/** Used instead of 255 when a model has more than 254 classes (uint16 label map). */
export const NODATA_LABEL_U16 = 65535;

// ---------------------------------------------------------------- model manifest

export type NormalizationSpec =
  /** x = (v - mean[c]) / std[c] on raw values. */
  | { type: 'fixed'; mean: number[]; std: number[] }
  /**
   * lo/hi = percentiles of the (masked) values over scope; x = (v - lo) / (hi - lo), optionally clipped. Scope
   * 'crop' (prompt models only): per band over the prompt crop's pixels inside the image.
   */
  | { type: 'percentile'; pLow: number; pHigh: number; scope: 'volume' | 'slice' | 'image' | 'crop'; mask?: 'nonzero' | 'all'; clip?: [number, number] }
  /** x = (v - mean) / sd over scope. */
  | { type: 'zscore'; scope: 'volume' | 'slice' | 'image'; mask?: 'nonzero' | 'all' };

export interface ManifestClass {
  name: string;
  /** #rrggbb */
  color: string;
  /** DICOM SEG coded terms (e.g. SNOMED CT); without them the SEG export picks by name ("Neoplasm" for tumours). */
  dicomCodes?: {
    category: { CodeValue: string; CodingSchemeDesignator: string; CodeMeaning: string };
    type: { CodeValue: string; CodingSchemeDesignator: string; CodeMeaning: string };
  };
}

export interface ModelManifest {
  id: string;
  name: string;
  version: string;
  /** 'prompt': an interactive model (clicks / box / previous mask -> one object), run by `delineate prompt`. */
  task: 'semantic' | 'instance' | 'prompt';
  kinds: ImageKind[];
  modality?: string;
  sensor?: string;
  /** ONNX file, relative to the manifest. */
  file: string;
  input: {
    name?: string;
    channels: string[];
    layout?: 'NCHW';
    dtype?: 'float32';
    /** 2d models on volumes run slice by slice. */
    sliceMode?: '2d' | '3d';
    /**
     * 2.5D: a 2d model that also reads this many neighbour slices on each side (slices z-k..z+k, each with all
     * `channels`, clamped at the ends of the stack), so its ONNX input has channels x (2k+1) channels. Default 0.
     */
    contextSlices?: number;
  };
  normalization: NormalizationSpec;
  tileSize: [number, number];
  /** Fraction of a tile shared with its neighbour (0..0.9). */
  tileOverlap?: number;
  /** Resolution the model was trained at; the engine resamples other imagery to it. */
  resolution?: { mmPerPx?: number | null; mPerPx?: number | null };
  /** Label value = index + 1. */
  classes: ManifestClass[];
  outputs: {
    name?: string;
    type: 'softmax' | 'sigmoid' | 'logits';
    threshold?: number;
    /** Softmax models: channel 0 is background (label 0). */
    backgroundChannel?: boolean;
    /** Output channel of each class, in class order. */
    classChannels?: number[];
    /** Channel holding an instance-boundary probability (splits touching objects). */
    boundaryChannel?: number | null;
    /** Channel holding a distance-to-border map (splits touching objects). */
    distanceChannel?: number | null;
  };
  /**
   * Test-time flips: the model also runs on the tile mirrored along x (left-right), y (top-bottom) and/or both
   * (`xy`, a half turn), and the probabilities are averaged (the flips are undone first). Each flip costs one more
   * model call per tile.
   */
  testTimeFlips?: TestTimeFlip[];
  /**
   * The flips run only on tiles where some pixel of a class channel reaches this probability in the plain run
   * (elsewhere the plain run's output stands alone): a tile where the model sees nothing skips them. 0 or absent:
   * every tile.
   */
  testTimeFlipsMinProbability?: number;
  /** Clean-up of the label map before instances are made (per class, 3D components on volumes). */
  postprocess?: ModelPostprocess;
  license: string;
  card?: string;
  training?: Record<string, unknown>;
  /** Prompt models (task "prompt") only: how clicks reach the model. */
  interactive?: InteractiveSpec;
  /** Probability calibration fitted on the validation split; the engine applies it before thresholds/argmax. */
  calibration?: ModelCalibration;
}

/**
 * Temperature scaling of the model's probabilities, p' = sigmoid(logit(p) / T + bias) for sigmoid outputs and
 * p'_k = softmax(log p / T)_k over the softmax channels (class + background), applied to the averaged output of
 * the test-time flips. Fitted on the validation split only; the ECE figures use 15 equal-width bins over the
 * pixels whose class probability lies in [0.01, 0.99] (one-vs-rest per class for softmax models).
 */
export interface ModelCalibration {
  temperature: number;
  /** Sigmoid outputs only: p' = sigmoid(logit(p) / T + bias) (Platt scaling); default 0. */
  bias?: number;
  /**
   * Sigmoid outputs only: a strictly increasing curve applied after T and bias, linear between the points
   * (isotonic regression on validation, made strictly increasing so a threshold keeps its pixels).
   */
  curve?: { p: number[]; calibrated: number[] };
  fittedOn: 'validation';
  /** Expected calibration error after calibration, on the validation and the test split. */
  eceValidation?: number;
  eceTest?: number;
  /**
   * Size ranges (`volumeMlRange`, `areaM2Range`, ...; definition in main/engine/measure/ranges.ts and
   * docs/inference.md): 'thresholds': low = the object's pixels whose calibrated probability of its class is
   * >= innerThreshold, high = the object plus the pixels connected to it (for a class total: anywhere) whose
   * probability of that class is >= outerThreshold; 'probabilityMass': low = n - lowScale x sum(1 - p) over the
   * object, high = n + highScale x sum(p) over those surrounding pixels. Parameters chosen on validation (the
   * narrowest whose range holds the true size for 85 % of validation cases, with a margin: docs/inference.md).
   */
  sizeRange?: SizeRangeCalibration;
  [figure: string]: unknown;
}

/** ModelCalibration.sizeRange: how a size's [low, high] is defined, with the validation figures it was chosen by. */
export interface SizeRangeCalibration {
  /** Default 'thresholds' (manifests written before the probability-mass range). */
  method?: 'thresholds' | 'probabilityMass';
  /** thresholds only. */
  innerThreshold?: number;
  outerThreshold: number;
  /** probabilityMass only: the factors on the object's doubt (low side) and its surroundings' mass (high side). */
  lowScale?: number;
  highScale?: number;
  /** Where a class total's high counts hesitant pixels: anywhere in the image (default) or only grown from its objects. */
  classScope?: 'image' | 'objects';
  [figure: string]: unknown;
}

/**
 * Our click model: the input is the image crop (zoomed to the object) + positive and negative click disks + the
 * previous mask, the output a foreground probability (docs/interactive.md states every rule).
 */
export interface ClickmapsSpec {
  format: 'clickmaps';
  /** Model input side S (the crop is resampled to S x S). */
  cropSize: number;
  clickRadiusPx: number;
  /** Side of the first crop (native pixels) around the first click when there is no mask or box yet. */
  firstCropPx: number;
  minCropPx: number;
  marginFraction: number;
  threshold: number;
  /** How many times the crop may double when the object touches its side. */
  maxBorderGrow: number;
  /**
   * Refinement passes after a step (default 0): the same clicks and box run again with the step's own mask as the
   * previous mask, so the crop refits around the object (a zoom-in). Skipped once the mask is empty.
   */
  refinePasses: number;
  /** Refine only a first step (no previous mask and no box), not corrections or Propagate's slices (default false). */
  refineFirstOnly: boolean;
  /**
   * Honour the user's newest click through the model's own probability when the thresholded outline contradicts it
   * (default 0 = off): a positive click outside adds the 4-connected part of {p >= p at the click} holding it, when
   * that p >= this; a negative click inside removes the part of {p <= p at the click}, when that p <= 1 - this.
   * Not applied to Propagate's seeds.
   */
  clickLevelSetMin: number;
  /** Optional: Propagate also ends where the object stops standing out from its surroundings (bright lesions). */
  propagateStop?: PropagateStopSpec;
}

/**
 * Propagate's stop rule for bright objects, on the model's normalised channel 0: a slice ends the object when the
 * mean inside < minContrast x the mean on a ring of ringPx pixels around it (where > 0), or < minRelativeIntensity
 * x the mean inside the object on the starting slice. 0 switches a test off.
 */
export interface PropagateStopSpec {
  minContrast: number;
  minRelativeIntensity: number;
  ringPx: number;
}

/** A SAM-family pair: `encoder` (image -> image_embeddings) and `decoder` (the SAM ONNX export's inputs). */
export interface SamSpec {
  format: 'sam';
  /** ONNX files relative to the manifest. */
  encoder: string;
  decoder: string;
  /** Longest side the encoder expects (SAM, MobileSAM, MedSAM: 1024); the input is padded to a square of it. */
  imageSize: number;
  /** Decoder mask logits above this are the object (SAM: 0). */
  maskThreshold: number;
  /** Cache of image embeddings, in MB (least recently used slices or tiles are dropped first). */
  cacheMb: number;
}

export type InteractiveSpec = ClickmapsSpec | SamSpec;

/** A test-time flip: mirrored along x, along y, or along both (a half turn). */
export type TestTimeFlip = 'x' | 'y' | 'xy';

/** Component filters a manifest may ask for; a run may switch them off (`--no-postprocess`). */
export interface ModelPostprocess {
  /** Keep only the N largest connected components of each class in each image or volume. */
  keepLargestComponents?: number;
  /** Drop components smaller than this fraction of their class's largest component (0..1). */
  minComponentFraction?: number;
  /**
   * Drop components, other than their class's largest, whose mean probability is below this (0..1): a second real
   * lesion is confident throughout, most false-positive blobs are not. Needs the model's probabilities (segment).
   */
  minComponentMeanProbability?: number;
  /**
   * Drop objects (after touching ones are split) covering less ground than this, in m²: the labels' minimum
   * mapping unit. 2D rasters only: a geo raster by its own pixel area, any other picture at the model's
   * `resolution.mPerPx` (without either it does not apply).
   */
  minObjectAreaM2?: number;
  /**
   * Footprint regularisation (2D rasters only, after the minimum object size): each object that fills at least
   * `minFill` of its minimum-area rectangle (any orientation) becomes that rectangle; the rest keep their outline.
   */
  regularize?: { shape: 'rectangle'; minFill: number };
}

/** What model pickers and `models list --json` show. */
export interface ModelSummary {
  id: string;
  name: string;
  version: string;
  task: ModelManifest['task'];
  kinds: ImageKind[];
  classes: ManifestClass[];
  license: string;
  /** Present (true) when the licence forbids commercial use (CC BY-NC and the like): pickers and lists say so. */
  nonCommercial?: true;
  /** Where it came from: shipped with the app, the user's model folder, or a file given on the command line. */
  source: 'builtin' | 'user' | 'file';
  /** First paragraph of the model card, if any. */
  summary?: string;
  /** The manifest's component filters (a run may switch them off) and test-time flips. */
  postprocess?: ModelPostprocess;
  testTimeFlips?: TestTimeFlip[];
  testTimeFlipsMinProbability?: number;
}

// ---------------------------------------------------------------- instances.json

export interface InstanceBBox {
  /** Inclusive pixel indices [x, y] or [x, y, z]. */
  min: number[];
  max: number[];
}

export interface InstanceRecord {
  id: number;
  classId: number;
  className: string;
  pixelCount: number;
  bbox: InstanceBBox;
  /** Mean of pixel indices, [x, y] or [x, y, z]. */
  centroidPx: number[];
  /** Measurements (areaMm2, volumeMl, areaM2, longAxisMm, meanIntensity ...) are added by the measurement stage. */
  [measurement: string]: unknown;
}

export interface ClassRecord {
  id: number;
  name: string;
  color: string;
  instanceCount: number;
  pixelCount: number;
  /** Share of the valid (non-nodata) pixels. */
  fraction: number;
  /** areaMm2 / volumeMl / areaM2 / areaHa / areaPx ... */
  [measurement: string]: unknown;
}

export interface InferenceRecord {
  device: 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu';
  tileSize: [number, number];
  overlap: number;
  tiles: number;
  batch: number;
  seconds: number;
  /** How instances were formed: watershed on the model's boundary/distance head, or connected components. */
  instanceSplit?: 'boundary-watershed' | 'components';
  [extra: string]: unknown;
}

/**
 * Something about a run a person must know before trusting it: the model was made for another kind of image, other
 * channels, or a ground resolution more than 2x finer or coarser than the image's. The message says it in full.
 */
export interface RunWarning {
  /**
   * series: the image is a folder's largest DICOM series that opened, and a larger one did not, or a stack of
   * numbered slice files skips numbers (the message says which).
   */
  code: 'kind' | 'channels' | 'resolution' | 'series';
  message: string;
}

export interface InstancesDocument {
  source: {
    file: string;
    kind: ImageKind;
    width: number;
    height: number;
    depth: number;
    spacingMm?: Vec3;
    originMm?: Vec3;
    direction?: number[];
    geotransform?: GeoTransform;
    crs?: string | null;
    /** DICOM: the series the result was made from (sessions reopen it, DICOM SEG references it). */
    seriesInstanceUid?: string;
    /** DICOM: which volume (from 2) of a series holding several at each position (time points, echoes, b-values). */
    seriesVolume?: number;
    [extra: string]: unknown;
  };
  model?: { id: string; name: string; version: string };
  inference?: InferenceRecord;
  /** Present when the model does not suit the image (see RunWarning); the run went ahead. */
  warnings?: RunWarning[];
  classes: ClassRecord[];
  instances: InstanceRecord[];
}
