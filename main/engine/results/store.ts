// Segmentation results kept in the engine host after `segment`, keyed by result id: the label and instance maps
// (the truth edits change), the document, and the undo/redo stacks of named operations with their patches.
// Serves per-slice instance maps to the viewer and re-measures only the instances an edit touched.
import type { EditOperation, EditOperationName, EditResult, ResultInstancesPage, ResultInstancesRequest, ResultProbability, ResultProbabilityRequest, ResultProbabilityTile, ResultProbabilityTileRequest, ResultSlice, ResultTile, ResultTileRequest, SliceAxis } from '../../../preload/api';
import { pageOf, resultTileRect, sampleTile } from './tiles';
import type { ClassRecord, InstanceRecord, InstancesDocument } from '../../../preload/formats';
import type { PixelArray } from '../image';
import { addPixel, newComponentStats, type ComponentStats, type Connectivity } from '../postprocess/components';
import { countLabels, measureInstances } from '../measure/index';
import { sizeFields, pixelUnit } from '../measure/basic';
import { geoMeasurer } from '../measure/geo';
import { applyPatch, runOperation, type EditTarget, type Patch } from './edit';
import type { ResultMaps } from '../export/results';
import { checkIndex, planeLayout, previewSize, type PlaneLayout } from '../render/reformat';

/** Probability maps larger than this are not kept (the heat-map says it is unavailable for that result). */
export const PROBABILITY_CAP_BYTES = 512 * 1024 * 1024;

export interface ResultInput extends ResultMaps {
  path: string;
  document: InstancesDocument;
  connectivity: Connectivity;
  /** The model's per-class probabilities x 255, channel-planar in class order (kept only up to PROBABILITY_CAP_BYTES). */
  probabilities?: { data: Uint8Array; channels: number };
}

interface Step {
  op: EditOperation;
  patch: Patch;
  createdInstanceId?: number;
  createdInstanceIds?: number[];
  /** Instance ids whose pixels the patch changed (made once, when first asked for). */
  touched?: Set<number>;
}

interface Stored extends ResultInput {
  id: string;
  revision: number;
  validPixelCount: number;
  classPixelCounts: number[];
  nextInstanceId: number;
  undo: Step[];
  redo: Step[];
  /** Channel 0 of the image, read on the first edit (for mean intensity). */
  intensity: PixelArray | null;
  /** Per voxel, how many applied edits touched it (made on the first edit when probabilities are kept). */
  editCount: Uint16Array | null;
  /** The records as the model (or a session's base) gave them: an object no applied edit touches is measured so. */
  baseRecords: Map<number, InstanceRecord>;
}

/** Reads channel 0 of the result's image (whole volume), for re-measuring intensities. */
export type ReadIntensity = (path: string) => Promise<PixelArray>;

const round = (v: number): number => Math.round(v * 1e6) / 1e6;

/** Statistics of the given instances, gathered only inside box (which must hold all their pixels). */
function statsInBox(r: Stored, ids: Set<number>, box: [number, number, number, number, number, number]): ComponentStats[] {
  const { width: W, height: H, instances, labels, intensity } = r;
  const plane = W * H;
  // The model's probability of each pixel's class (class k is channel k - 1), for the mean probability of an edited object.
  const prob = r.probabilities;
  const volume = plane * r.depth;
  const byId = new Map<number, ComponentStats>();
  const [x0, y0, z0, x1, y1, z1] = box;
  for (let z = z0; z <= z1; z++) {
    for (let y = y0; y <= y1; y++) {
      const row = z * plane + y * W;
      for (let x = x0; x <= x1; x++) {
        const i = row + x;
        const id = instances[i]!;
        if (id === 0 || !ids.has(id)) continue;
        let s = byId.get(id);
        if (!s) {
          s = newComponentStats(id, labels[i]!, x, y, z);
          byId.set(id, s);
        }
        const k = labels[i]! - 1;
        const probability = prob && k >= 0 && k < prob.channels ? prob.data[k * volume + i]! / 255 : undefined;
        addPixel(s, x, y, z, probability, intensity ? intensity[i]! : undefined);
      }
    }
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

function boxOfRecord(rec: InstanceRecord): [number, number, number, number, number, number] {
  const { min, max } = rec.bbox;
  return [min[0] ?? 0, min[1] ?? 0, min[2] ?? 0, max[0] ?? 0, max[1] ?? 0, max[2] ?? 0];
}

function unionBox(a: Patch['box'], b: Patch['box']): Patch['box'] {
  if (!a) return b;
  if (!b) return a;
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.min(a[2], b[2]), Math.max(a[3], b[3]), Math.max(a[4], b[4]), Math.max(a[5], b[5])];
}

export class ResultStore {
  private readonly results = new Map<string, Stored>();
  private counter = 0;

  constructor(
    private readonly readIntensity: ReadIntensity,
    private readonly capacity = 3,
  ) {}

  /** Keeps a result; the oldest beyond capacity is dropped (its maps are large). */
  add(input: ResultInput): string {
    const id = `r_${Date.now().toString(36)}${(this.counter++).toString(36)}`;
    const counts = countLabels(input.labels, input.classes.length, input.nodataLabel);
    const maxId = input.document.instances.reduce((m, r) => Math.max(m, r.id), 0);
    const probabilities = input.probabilities && input.probabilities.data.byteLength <= PROBABILITY_CAP_BYTES ? input.probabilities : undefined;
    const { probabilities: _dropped, ...maps } = input;
    void _dropped;
    this.results.set(id, {
      ...maps,
      ...(probabilities ? { probabilities } : {}),
      id,
      revision: 0,
      validPixelCount: counts.valid,
      classPixelCounts: counts.perClass,
      nextInstanceId: maxId + 1,
      undo: [],
      redo: [],
      intensity: null,
      editCount: null,
      baseRecords: new Map(input.document.instances.map((rec) => [rec.id, rec])),
    });
    while (this.results.size > this.capacity) {
      const oldest = this.results.keys().next().value as string;
      this.results.delete(oldest);
    }
    return id;
  }

  private get(id: string): Stored {
    const r = this.results.get(id);
    if (!r) throw new Error(`result ${id} is no longer kept (run the model again)`);
    return r;
  }

  /**
   * Volume indices of the preview pixels of slice `index` along `axis` (nearest pixel), with the same layout and
   * preview size as image slices (render/slice.ts, render/reformat.ts), so both line up pixel for pixel.
   */
  private sampleGrid(r: Stored, axis: SliceAxis, index: number, maxSize: number): { layout: PlaneLayout; outW: number; outH: number; at: Uint32Array } {
    const layout = planeLayout(r, r.geometry, axis);
    checkIndex(layout, index);
    const { width: PW, height: PH } = layout;
    const { outW, outH } = previewSize(PW, PH, maxSize);
    const at = new Uint32Array(outW * outH);
    for (let oy = 0; oy < outH; oy++) {
      const row = outH === PH ? oy : Math.min(PH - 1, Math.floor(((oy + 0.5) * PH) / outH));
      for (let ox = 0; ox < outW; ox++) {
        const col = outW === PW ? ox : Math.min(PW - 1, Math.floor(((ox + 0.5) * PW) / outW));
        at[oy * outW + ox] = layout.voxel(index, col, row);
      }
    }
    return { layout, outW, outH, at };
  }

  /** Instance ids of slice z along axis (default axial), sampled to at most maxSize on the longest side (nearest pixel). */
  slice(id: string, z: number, maxSize: number, axis: SliceAxis = 'axial'): ResultSlice {
    const r = this.get(id);
    const { width: W, height: H } = r;
    let out: ResultSlice;
    const full = previewSize(W, H, maxSize);
    if (axis === 'axial' && full.outW === W && full.outH === H) {
      // Full-resolution axial maps (the common case) are a plain copy of the slice.
      checkIndex(planeLayout(r, r.geometry, axis), z);
      const base = z * W * H;
      out = { resultId: id, z, revision: r.revision, width: W, height: H, scaleX: 1, scaleY: 1, instances: r.instances.slice(base, base + W * H) };
    } else {
      const { layout, outW, outH, at } = this.sampleGrid(r, axis, z, maxSize);
      const instances = new Uint32Array(at.length);
      for (let i = 0; i < at.length; i++) instances[i] = r.instances[at[i]!]!;
      out = { resultId: id, z, revision: r.revision, width: outW, height: outH, scaleX: layout.width / outW, scaleY: layout.height / outH, instances };
    }
    if (axis !== 'axial') out.axis = axis;
    return out;
  }

  /** Whether the model's probability maps are kept for this result. */
  hasProbabilities(id: string): boolean {
    return this.get(id).probabilities !== undefined;
  }

  /**
   * One class's probability x 255 on a slice, on the same grid as slice(). Voxels an applied edit touched read 0
   * and are flagged in `edited`: the model's probability does not describe pixels a person painted.
   */
  probability(request: Omit<ResultProbabilityRequest, 'resultId'> & { resultId: string }): ResultProbability {
    const r = this.get(request.resultId);
    const p = r.probabilities;
    if (!p) throw new Error('the probability maps of this result were not kept (over the memory cap, or a restored session): run the model again');
    // Class ids are 1-based positions in the manifest's class list (label 0 is background).
    const k = request.classId - 1;
    if (!Number.isInteger(k) || k < 0 || k >= p.channels) throw new RangeError(`class ${request.classId} has no probability map`);
    const axis = request.axis ?? 'axial';
    const { layout, outW, outH, at } = this.sampleGrid(r, axis, request.z, request.maxSize);
    const base = k * r.width * r.height * r.depth;
    const values = new Uint8Array(at.length);
    const edited = new Uint8Array(at.length);
    const counts = r.editCount;
    for (let i = 0; i < at.length; i++) {
      const v = at[i]!;
      if (counts && counts[v]! > 0) edited[i] = 1;
      else values[i] = p.data[base + v]!;
    }
    const out: ResultProbability = { resultId: r.id, classId: request.classId, z: request.z, revision: r.revision, width: outW, height: outH, scaleX: layout.width / outW, scaleY: layout.height / outH, values, edited };
    if (axis !== 'axial') out.axis = axis;
    return out;
  }

  /** One axial tile of the instance map at a pyramid level (nearest sampling), as the disk-kept store answers it. */
  tile(request: ResultTileRequest): ResultTile {
    const r = this.get(request.resultId);
    checkIndex(planeLayout(r, r.geometry, 'axial'), request.z);
    const rect = resultTileRect(r.width, r.height, request);
    const instances = sampleTile(new Uint32Array(rect.outW * rect.outH), r.instances, r.width, rect, 0, 0, request.z * r.width * r.height);
    return { resultId: r.id, revision: r.revision, level: request.level, x: request.x, y: request.y, width: rect.outW, height: rect.outH, imageRect: [rect.x0, rect.y0, rect.w, rect.h], instances };
  }

  /** One class's probability x 255 on an axial tile (0 where an applied edit touched the pixel, as probability()). */
  probabilityTile(request: ResultProbabilityTileRequest): ResultProbabilityTile {
    const r = this.get(request.resultId);
    const p = r.probabilities;
    if (!p) throw new Error('the probability maps of this result were not kept (over the memory cap, or a restored session): run the model again');
    const k = request.classId - 1;
    if (!Number.isInteger(k) || k < 0 || k >= p.channels) throw new RangeError(`class ${request.classId} has no probability map`);
    checkIndex(planeLayout(r, r.geometry, 'axial'), request.z);
    const rect = resultTileRect(r.width, r.height, request);
    const plane = r.width * r.height;
    const offset = k * plane * r.depth + request.z * plane;
    const probability = sampleTile(new Uint8Array(rect.outW * rect.outH), p.data, r.width, rect, 0, 0, offset);
    const counts = r.editCount;
    if (counts) {
      const edited = sampleTile(new Uint32Array(probability.length), counts, r.width, rect, 0, 0, request.z * plane);
      for (let i = 0; i < edited.length; i++) if (edited[i]! > 0) probability[i] = 0;
    }
    return { resultId: r.id, revision: r.revision, level: request.level, x: request.x, y: request.y, width: rect.outW, height: rect.outH, imageRect: [rect.x0, rect.y0, rect.w, rect.h], classId: request.classId, probability };
  }

  /** A page of the instance records, sorted and filtered (the table pages large results). */
  instancePage(request: ResultInstancesRequest): ResultInstancesPage {
    const r = this.get(request.resultId);
    const page = pageOf(r.document.instances, request);
    return { resultId: r.id, revision: r.revision, total: page.total, offset: request.offset, instances: page.instances };
  }

  /** The record of the instance under pixel (x, y) of slice z, or null for background. */
  instanceAt(id: string, x: number, y: number, z: number): InstanceRecord | null {
    const r = this.get(id);
    if (!Number.isInteger(x) || !Number.isInteger(y) || !Number.isInteger(z) || x < 0 || y < 0 || z < 0 || x >= r.width || y >= r.height || z >= r.depth) throw new RangeError(`pixel ${x},${y},${z} is outside the result (${r.width}x${r.height}x${r.depth})`);
    const iid = r.instances[z * r.width * r.height + y * r.width + x]!;
    if (iid === 0) return null;
    return r.document.instances.find((rec) => rec.id === iid) ?? null;
  }

  async edit(id: string, op: EditOperation): Promise<EditResult> {
    const r = this.get(id);
    const byId = new Map(r.document.instances.map((rec) => [rec.id, rec]));
    const target: EditTarget = {
      width: r.width,
      height: r.height,
      depth: r.depth,
      instances: r.instances,
      labels: r.labels,
      nodataLabel: r.nodataLabel,
      classCount: r.classes.length,
      classOf: (iid) => byId.get(iid)?.classId,
      boxOf: (iid) => {
        const rec = byId.get(iid);
        return rec ? boxOfRecord(rec) : undefined;
      },
      nextInstanceId: r.nextInstanceId,
      connectivity: r.connectivity,
    };
    // Region growing reads the image; other operations read it only when re-measuring (commit).
    if (op.op === 'regionGrow') target.intensity = r.intensity ??= await this.readIntensity(r.path);
    const { patch, createdInstanceId, createdInstanceIds } = runOperation(target, op);
    for (const created of [createdInstanceId, ...(createdInstanceIds ?? [])]) if (created !== undefined) r.nextInstanceId = Math.max(r.nextInstanceId, created + 1);
    const step: Step = { op, patch, ...(createdInstanceId !== undefined ? { createdInstanceId } : {}), ...(createdInstanceIds?.length ? { createdInstanceIds } : {}) };
    r.undo.push(step);
    r.redo = [];
    return this.commit(r, patch, 'forward', step);
  }

  async undo(id: string): Promise<EditResult> {
    const r = this.get(id);
    const step = r.undo.pop();
    if (!step) throw new Error('nothing to undo');
    r.redo.push(step);
    return this.commit(r, step.patch, 'undo');
  }

  async redo(id: string): Promise<EditResult> {
    const r = this.get(id);
    const step = r.redo.pop();
    if (!step) throw new Error('nothing to redo');
    r.undo.push(step);
    return this.commit(r, step.patch, 'forward', step);
  }

  has(id: string): boolean {
    return this.results.has(id);
  }

  /** Forgets a result (its maps are large); an unknown id is no error. */
  drop(id: string): void {
    this.results.delete(id);
  }

  /** Where a kept result stands now (revision, document, stacks): what a restored session shows. */
  state(id: string): { resultId: string; revision: number; document: InstancesDocument; undoStack: EditOperationName[]; redoStack: EditOperationName[] } {
    const r = this.get(id);
    return { resultId: id, revision: r.revision, document: r.document, undoStack: r.undo.map((s) => s.op.op), redoStack: r.redo.map((s) => s.op.op) };
  }

  /** The maps and document as they are now, for the exporters (shared, not copied: read them, never change them). */
  snapshot(id: string): Omit<ResultInput, 'connectivity'> {
    const r = this.get(id);
    return { path: r.path, width: r.width, height: r.height, depth: r.depth, geometry: r.geometry, classes: r.classes, labels: r.labels, nodataLabel: r.nodataLabel, instances: r.instances, document: r.document };
  }

  /** Applies a patch to the maps, re-measures the instances it touched, and describes the new state. */
  private async commit(r: Stored, patch: Patch, direction: 'forward' | 'undo', created?: Pick<Step, 'createdInstanceId' | 'createdInstanceIds'>): Promise<EditResult> {
    const changed = new Set<number>();
    for (let k = 0; k < patch.indices.length; k++) {
      if (patch.beforeInstance[k]) changed.add(patch.beforeInstance[k]!);
      if (patch.afterInstance[k]) changed.add(patch.afterInstance[k]!);
    }
    if (changed.size > 0 && !r.intensity) r.intensity = await this.readIntensity(r.path);
    applyPatch(r.instances, r.labels, patch, direction, r.classPixelCounts);
    this.countEdits(r, patch, direction);
    r.revision++;
    if (changed.size > 0) r.document = this.remeasure(r, changed, patch.box);
    const result: EditResult = {
      resultId: r.id,
      revision: r.revision,
      document: r.document,
      changedInstanceIds: [...changed].sort((a, b) => a - b),
      zRange: patch.box ? [patch.box[2], patch.box[5]] : null,
      undoStack: r.undo.map((s): EditOperationName => s.op.op),
      redoStack: r.redo.map((s): EditOperationName => s.op.op),
    };
    if (created?.createdInstanceId !== undefined && direction === 'forward') result.createdInstanceId = created.createdInstanceId;
    if (created?.createdInstanceIds && direction === 'forward') result.createdInstanceIds = created.createdInstanceIds;
    return result;
  }

  /** Keeps which voxels applied edits touched (for the probability heat-map); only results with probabilities. */
  private countEdits(r: Stored, patch: Patch, direction: 'forward' | 'undo'): void {
    if (!r.probabilities || patch.indices.length === 0) return;
    if (!r.editCount) r.editCount = new Uint16Array(r.width * r.height * r.depth);
    const c = r.editCount;
    const d = direction === 'forward' ? 1 : -1;
    for (let k = 0; k < patch.indices.length; k++) {
      const i = patch.indices[k]!;
      c[i] = Math.max(0, Math.min(0xffff, c[i]! + d));
    }
  }

  /** Instance ids the edits now applied (the undo stack) changed: an object outside it is as the model made it. */
  private touchedByUndo(r: Stored): Set<number> {
    const out = new Set<number>();
    for (const step of r.undo) {
      if (!step.touched) {
        const t = new Set<number>();
        const p = step.patch;
        for (let k = 0; k < p.indices.length; k++) {
          if (p.beforeInstance[k]) t.add(p.beforeInstance[k]!);
          if (p.afterInstance[k]) t.add(p.afterInstance[k]!);
        }
        step.touched = t;
      }
      for (const id of step.touched) out.add(id);
    }
    return out;
  }

  /**
   * New records for the changed instances (the rest are kept as they were) and new class totals. An object that no
   * applied edit touches any more (undone back to the model's state) gets its model record back, edited mark and
   * model probability included. An edited object's mean probability is recomputed from the model's probability map
   * when it is kept; without the map (a restored session) it is null: stale, not silently dropped.
   */
  private remeasure(r: Stored, changed: Set<number>, patchBox: Patch['box']): InstancesDocument {
    const old = new Map(r.document.instances.map((rec) => [rec.id, rec]));
    // A changed instance now lies within its old box plus the patch's box.
    let box = patchBox;
    for (const id of changed) {
      const rec = old.get(id);
      if (rec) box = unionBox(box, boxOfRecord(rec));
    }
    const stats = box ? statsInBox(r, changed, box) : [];
    const measured = measureInstances(stats, {
      geometry: r.geometry,
      depth: r.depth,
      classes: r.classes,
      validPixelCount: r.validPixelCount,
      classPixelCounts: r.classPixelCounts,
      hasProbability: r.probabilities !== undefined,
      hasIntensity: r.intensity !== null,
      instanceMap: r.instances,
      width: r.width,
      height: r.height,
      connectivity: r.connectivity,
    });
    const touched = this.touchedByUndo(r);
    const hadProbability = r.document.instances.some((rec) => 'meanProbability' in rec) || [...r.baseRecords.values()].some((rec) => 'meanProbability' in rec);
    const fresh = new Map<number, InstanceRecord>();
    for (const rec of measured.instances) {
      const base = r.baseRecords.get(rec.id);
      if (!touched.has(rec.id) && base) fresh.set(rec.id, base);
      else fresh.set(rec.id, { ...rec, ...(hadProbability && !('meanProbability' in rec) ? { meanProbability: null } : {}), edited: true });
    }
    const instances: InstanceRecord[] = [];
    for (const rec of r.document.instances) if (!changed.has(rec.id)) instances.push(rec);
    instances.push(...fresh.values());
    instances.sort((a, b) => a.id - b.id);
    return { ...r.document, classes: this.classTotals(r, instances), instances };
  }

  /** Class records from the maintained pixel counts and the instance records (same fields as measure/). */
  private classTotals(r: Stored, instances: InstanceRecord[]): ClassRecord[] {
    const unit = pixelUnit(r.geometry);
    const is3D = r.depth > 1;
    const geo = r.geometry.type === 'geo' ? geoMeasurer(r.geometry, r.width, r.height) : null;
    return r.document.classes.map((c) => {
      const pixelCount = r.classPixelCounts[c.id] ?? 0;
      // The model's size range (measure/ranges.ts) no longer describes a class a person edited: dropped, not kept stale.
      const edited = instances.some((i) => i.classId === c.id && i.edited === true) || pixelCount !== c.pixelCount;
      const kept = edited ? Object.fromEntries(Object.entries(c).filter(([k]) => !k.endsWith('Range'))) : c;
      const rec: ClassRecord = {
        ...(kept as ClassRecord),
        instanceCount: instances.reduce((n, i) => n + (i.classId === c.id ? 1 : 0), 0),
        pixelCount,
        ...sizeFields(pixelCount, unit, is3D),
        fraction: r.validPixelCount > 0 ? pixelCount / r.validPixelCount : 0,
      };
      if (geo) {
        // As measure/index.ts: geo class areas are sums over instances (possibly ellipsoidal).
        const areaM2 = instances.reduce((t, i) => t + (i.classId === c.id && typeof i.areaM2 === 'number' ? i.areaM2 : 0), 0);
        rec.areaM2 = round(areaM2);
        rec.areaHa = round(areaM2 / 10000);
      }
      return rec;
    });
  }
}
