// Object change for instance models (buildings): the earlier and later instance maps on the common grid are overlaid
// over the pixels valid on both dates; objects are paired one to one by largest shared area. A pair is "unchanged"
// when its footprints' IoU is at least CHANGED_BELOW_IOU, else "changed"; an earlier object that shares no pixel with
// any later one is "demolished", a later object sharing none with an earlier one is "new"; an object that overlaps
// others but lost the pairing to a larger overlap (splits, merges) is "changed". Areas count only the overlap.
import type { InstancesDocument } from '../../../../preload/formats';
import { M2_PER_HA } from '../../measure/geodesy';

export const CHANGED_BELOW_IOU = 0.5;

export type ObjectStatus = 'new' | 'demolished' | 'changed' | 'unchanged';

export interface ObjectChange {
  status: ObjectStatus;
  /** Instance id on the earlier / later date (instances.json), null where absent. */
  fromId: number | null;
  toId: number | null;
  fromAreaM2: number;
  toAreaM2: number;
  iou: number | null;
}

export interface ObjectSummary {
  counts: Record<ObjectStatus, number>;
  areaHa: Record<ObjectStatus, number>;
  objects: ObjectChange[];
}

/** Whether a result holds separate objects (watershed-split footprints or user-given instances), not just classes. */
export function isInstanceResult(doc: unknown): boolean {
  const d = doc as Partial<InstancesDocument> | null;
  if (!d || typeof d !== 'object') return false;
  if (d.inference?.instanceSplit === 'boundary-watershed') return true;
  return Array.isArray(d.instances) && d.instances.some((r) => r && typeof r === 'object' && 'labelValue' in r);
}

/** Shared and own areas of the instances of two dates, gathered pixel by pixel over strips. */
export class ObjectOverlay {
  private readonly areaA = new Map<number, number>();
  private readonly areaB = new Map<number, number>();
  private readonly shared = new Map<number, number>();

  add(a: number, b: number, areaM2: number): void {
    if (a > 0) this.areaA.set(a, (this.areaA.get(a) ?? 0) + areaM2);
    if (b > 0) this.areaB.set(b, (this.areaB.get(b) ?? 0) + areaM2);
    if (a > 0 && b > 0) {
      // Ids stay far below 2^21, so the key is an exact integer.
      const k = a * 4294967296 + b;
      this.shared.set(k, (this.shared.get(k) ?? 0) + areaM2);
    }
  }

  summarize(): ObjectSummary {
    const pairs = [...this.shared].map(([k, m2]) => ({ a: Math.floor(k / 4294967296), b: k % 4294967296, m2 })).sort((p, q) => q.m2 - p.m2 || p.a - q.a || p.b - q.b);
    const touchedA = new Set(pairs.map((p) => p.a));
    const touchedB = new Set(pairs.map((p) => p.b));
    const pairedA = new Map<number, { b: number; m2: number }>();
    const pairedB = new Set<number>();
    for (const p of pairs) {
      if (pairedA.has(p.a) || pairedB.has(p.b)) continue;
      pairedA.set(p.a, { b: p.b, m2: p.m2 });
      pairedB.add(p.b);
    }
    const objects: ObjectChange[] = [];
    const round = (v: number): number => Math.round(v * 100) / 100;
    for (const [a, areaA] of [...this.areaA].sort((x, y) => x[0] - y[0])) {
      const p = pairedA.get(a);
      if (p) {
        const areaB = this.areaB.get(p.b) ?? 0;
        const iou = p.m2 / (areaA + areaB - p.m2);
        objects.push({ status: iou >= CHANGED_BELOW_IOU ? 'unchanged' : 'changed', fromId: a, toId: p.b, fromAreaM2: round(areaA), toAreaM2: round(areaB), iou: Math.round(iou * 1e4) / 1e4 });
      } else {
        objects.push({ status: touchedA.has(a) ? 'changed' : 'demolished', fromId: a, toId: null, fromAreaM2: round(areaA), toAreaM2: 0, iou: touchedA.has(a) ? 0 : null });
      }
    }
    for (const [b, areaB] of [...this.areaB].sort((x, y) => x[0] - y[0])) {
      if (pairedB.has(b)) continue;
      objects.push({ status: touchedB.has(b) ? 'changed' : 'new', fromId: null, toId: b, fromAreaM2: 0, toAreaM2: round(areaB), iou: touchedB.has(b) ? 0 : null });
    }
    const counts: Record<ObjectStatus, number> = { new: 0, demolished: 0, changed: 0, unchanged: 0 };
    const areaM2: Record<ObjectStatus, number> = { new: 0, demolished: 0, changed: 0, unchanged: 0 };
    for (const o of objects) {
      counts[o.status]++;
      areaM2[o.status] += o.status === 'demolished' ? o.fromAreaM2 : o.toAreaM2;
    }
    const areaHa = Object.fromEntries(Object.entries(areaM2).map(([k, v]) => [k, Math.round((v / M2_PER_HA) * 1e6) / 1e6])) as Record<ObjectStatus, number>;
    return { counts, areaHa, objects };
  }
}
