// `delineate compare` on building footprints of ../shared (buildings-joplin, 0.6 m, NAD83 UTM 15N): the reference
// instances as the earlier date and an edited copy as the later one (ten buildings removed, three built on empty
// ground, one cut to a quarter), as `measure --labels-are instances` results: the object change must name each edit.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { GeoGeometry } from '../../preload/formats';
import { main } from '../../main/cli/index';
import { openImage } from '../../main/engine/io/index';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { measureFiles } from '../../main/engine/pipeline';
import type { GeoChangeDocument } from '../../main/engine/compare/geo/index';
import { sharedDir, skipNote, tempDir } from './helpers';

const DATA = path.join(sharedDir, 'data', 'buildings-joplin');
const TILE = 'tile_337-10160';
const hasData = existsSync(path.join(DATA, 'instances', `${TILE}.tif`));

describe.skipIf(!hasData)(`compare building objects on buildings-joplin${skipNote(!hasData, '../shared/data/buildings-joplin missing')}`, () => {
  const tmp = tempDir('delineate-compare-buildings-');
  afterAll(() => tmp.cleanup());
  const at = (...p: string[]): string => path.join(tmp.dir, ...p);

  it('finds the removed, the new and the cut buildings and leaves the rest unchanged', async () => {
    const src = await openImage(path.join(DATA, 'instances', `${TILE}.tif`));
    const ids = Uint16Array.from((await src.read()).data);
    const { width: W, height: H } = src;
    const geometry = src.geometry as GeoGeometry;
    await src.close();
    const present = [...new Set(ids)].filter((v) => v !== 0).sort((a, b) => a - b);
    const edited = ids.slice();
    const removed = present.slice(0, 10);
    for (let i = 0; i < edited.length; i++) if (removed.includes(edited[i]!)) edited[i] = 0;
    // Cut one building to the top-left quarter of its box: the one whose quarter keeps the smallest share.
    const box = new Map<number, [number, number, number, number, number]>();
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i]!;
      if (v === 0) continue;
      const x = i % W;
      const y = Math.floor(i / W);
      const b = box.get(v) ?? [x, y, x, y, 0];
      box.set(v, [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x), Math.max(b[3], y), b[4] + 1]);
    }
    const quarterShare = (v: number): number => {
      const [x0, y0, x1, y1, n] = box.get(v)!;
      let kept = 0;
      for (let y = y0; y <= (y0 + y1) / 2; y++) for (let x = x0; x <= (x0 + x1) / 2; x++) if (ids[y * W + x] === v) kept++;
      return kept / n;
    };
    const cut = present.slice(10).filter((v) => box.get(v)![4] > 200).sort((a, b) => quarterShare(a) - quarterShare(b))[0]!;
    expect(quarterShare(cut)).toBeLessThan(0.45);
    const [cx0, cy0, cx1, cy1] = box.get(cut)!;
    for (let y = cy0; y <= cy1; y++) for (let x = cx0; x <= cx1; x++) if (edited[y * W + x] === cut && (x > (cx0 + cx1) / 2 || y > (cy0 + cy1) / 2)) edited[y * W + x] = 0;
    // Three new 24 x 24 px buildings on ground that is empty on both dates (and 4 px clear around).
    let next = Math.max(...present) + 1;
    let built = 0;
    for (let y = 8; y + 32 < H && built < 3; y += 40) {
      for (let x = 8; x + 32 < W && built < 3; x += 40) {
        let empty = true;
        for (let j = -4; j < 28 && empty; j++) for (let i = -4; i < 28 && empty; i++) if (ids[(y + j) * W + x + i] !== 0) empty = false;
        if (!empty) continue;
        for (let j = 0; j < 24; j++) for (let i = 0; i < 24; i++) edited[(y + j) * W + x + i] = next;
        next++;
        built++;
      }
    }
    expect(built).toBe(3);

    const before = at('before.tif');
    const after = at('after.tif');
    await writeTiff(before, { data: ids, width: W, height: H, depth: 1, channels: 1, geometry });
    await writeTiff(after, { data: edited, width: W, height: H, depth: 1, channels: 1, geometry });
    const image = path.join(DATA, 'images', `${TILE}.tif`);
    const classes = [{ name: 'building', color: '#ff0000' }];
    await measureFiles(image, before, at('r-before'), { labelsAre: 'instances', classes });
    await measureFiles(image, after, at('r-after'), { labelsAre: 'instances', classes });
    const err: string[] = [];
    const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
    let code: number;
    try {
      code = await main(['compare', at('r-before'), at('r-after'), '--out', at('change'), '--dates', '2011-05-01,2011-06-01']);
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
    expect(code, err.join('')).toBe(0);
    const doc = JSON.parse(readFileSync(at('change', 'change.json'), 'utf8')) as GeoChangeDocument;
    expect(doc.objects?.counts).toEqual({ new: 3, demolished: 10, changed: 1, unchanged: present.length - 11 });
    const newM2 = doc.objects!.list.filter((x) => x.status === 'new').reduce((s, x) => s + x.toAreaM2, 0);
    // 3 x 576 pixels of 0.36 m² (UTM's scale factor changes areas by well under 1%).
    expect(Math.abs(newM2 - 3 * 576 * 0.36) / (3 * 576 * 0.36)).toBeLessThan(0.01);
  });
});
