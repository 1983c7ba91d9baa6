// Integration (when ../shared/data is present): the Joplin reference footprints, turned into what a perfect
// buildings model would output (building mask + 2-px inner boundary band, as train_buildings.py trains it), must
// come back as exactly the reference instances through splitInstancesByBoundary and matchInstances: this checks
// the split and the evaluation's matching on real, touching buildings without needing a trained model.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { openImage } from '../../main/engine/io';
import { splitInstancesByBoundary } from '../../main/engine/postprocess/instances';
import { matchInstances } from '../../main/engine/measure/agreement';
import { cropSquare, repoRoot, sharedDir, skipNote } from './helpers';

const dataDir = path.join(sharedDir, 'data', 'buildings-joplin');
const splitFile = path.join(repoRoot, 'models', 'training', 'splits', 'buildings_val.txt');
const BAND_PX = 2;

/** 1 on instance pixels with a different value (background or another id) within BAND_PX (Chebyshev, edge-clamped). */
function boundaryBand(ins: ArrayLike<number>, W: number, H: number): Float32Array {
  const band = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = ins[y * W + x]!;
      if (v === 0) continue;
      search: for (let dy = -BAND_PX; dy <= BAND_PX; dy++) {
        for (let dx = -BAND_PX; dx <= BAND_PX; dx++) {
          const yy = Math.min(H - 1, Math.max(0, y + dy));
          const xx = Math.min(W - 1, Math.max(0, x + dx));
          if (ins[yy * W + xx] !== v) {
            band[y * W + x] = 1;
            break search;
          }
        }
      }
    }
  }
  return band;
}

const joplinSkip = !existsSync(dataDir) ? `${dataDir} missing` : !existsSync(splitFile) ? `${splitFile} missing` : null;
describe.skipIf(joplinSkip !== null)(`boundary split on the Joplin reference footprints${skipNote(joplinSkip !== null, joplinSkip ?? '')}`, () => {
  it('recovers every reference instance of the validation regions from a perfect building + boundary map', async () => {
    const regions = readFileSync(splitFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => l.trim().split(/\s+/));
    let matched = 0;
    for (const [tile, r, c, s] of regions) {
      const src = await openImage(path.join(dataDir, 'instances', `${tile!}.tif`));
      const ins = (await src.read({ channels: [0] })).data;
      const { width: W, height: H } = src;
      await src.close();
      const labels = Uint8Array.from(ins, (v) => (v > 0 ? 1 : 0));
      const split = splitInstancesByBoundary({ labels, width: W, height: H, depth: 1, nodataLabel: 255, boundary: boundaryBand(ins, W, H) });
      const [row0, col0, size] = [Number(r), Number(c), Number(s)];
      const m = matchInstances(cropSquare(split, W, row0, col0, size), cropSquare(ins, W, row0, col0, size));
      expect([m.falsePositives, m.falseNegatives], tile).toEqual([0, 0]);
      matched += m.truePositives;
    }
    // 142 footprints have a pixel in the three regions (141 of them >= 10 px, as train_buildings.py counts).
    expect(matched).toBe(142);
  });
});
