// The AI tool's accepted object as an edit: its per-slice masks (run-length encoded, carried in the operation) are
// painted into the target like a polygon fill, over other instances and never over nodata. Pure: maps in, Patch out.
import type { EditOperation } from '../../../preload/api';
import { InputError } from '../image';
import { checkSlice, PatchBuilder, resolveTarget, type EditTarget, type Patch } from './patch';
import { decodeMaskRle } from './rle';

export function acceptPrompt(t: EditTarget, op: Extract<EditOperation, { op: 'acceptPrompt' }>): { patch: Patch; createdInstanceId?: number } {
  if (op.masks.length === 0) throw new InputError('acceptPrompt', 'there is no object to accept (no mask)');
  const seen = new Set<number>();
  for (const m of op.masks) {
    checkSlice(t, m.z);
    if (seen.has(m.z)) throw new InputError('acceptPrompt', `slice ${m.z} has two masks`);
    seen.add(m.z);
    if (m.x0 + m.width > t.width || m.y0 + m.height > t.height) throw new InputError('acceptPrompt', `the mask of slice ${m.z} reaches outside the ${t.width}x${t.height} image`);
  }
  const { id, classId, created } = resolveTarget(t, op.target);
  const b = new PatchBuilder(t);
  const plane = t.width * t.height;
  for (const m of op.masks) {
    const bits = decodeMaskRle(m, `acceptPrompt mask of slice ${m.z}`);
    for (let y = 0; y < m.height; y++) {
      const row = m.z * plane + (m.y0 + y) * t.width + m.x0;
      for (let x = 0; x < m.width; x++) {
        if (!bits[y * m.width + x]) continue;
        const i = row + x;
        if (t.labels[i] === t.nodataLabel) continue;
        b.set(i, id, classId);
      }
    }
  }
  const patch = b.build();
  return patch.indices.length > 0 && created !== undefined ? { patch, createdInstanceId: created } : { patch };
}
