// Streamed instances.json: the same bytes as JSON.stringify(doc, null, 2) + '\n', written atomically (nothing left
// behind when the item source throws, e.g. on cancel).
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeJsonWithArray } from '../../main/engine/io/json-stream';
import { tempDir } from '../fixtures/models';

const t = tempDir('delineate-json-stream-');
afterAll(() => t.cleanup());

describe('writeJsonWithArray', () => {
  const head = { source: { file: 'a "quoted" name.tif', width: 3 }, inference: { tiles: 4, windowed: { contextPx: [1, 2] } }, classes: [{ id: 1, name: 'urban', areaHa: 0.5 }] };

  it('writes exactly what JSON.stringify writes, for many, one and no items', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => ({ id: i + 1, bbox: { min: [i, 0], max: [i + 2, 3] }, areaM2: i * 23.04, note: i % 7 ? undefined : 'x\ny', nan: i === 3 ? NaN : i }));
    for (const items of [many, many.slice(0, 1), []]) {
      const file = path.join(t.dir, `doc-${items.length}.json`);
      // An async source, as the streaming measurement gives it.
      async function* gen(): AsyncGenerator<unknown> {
        for (const it of items) yield it;
      }
      expect(await writeJsonWithArray(file, head, 'instances', gen())).toBe(items.length);
      expect(readFileSync(file, 'utf8')).toBe(JSON.stringify({ ...head, instances: items }, null, 2) + '\n');
    }
  });

  it('leaves the old file and no temporary file when the items throw', async () => {
    const file = path.join(t.dir, 'kept.json');
    writeFileSync(file, '{"old": true}\n');
    function* failing(): Generator<unknown> {
      yield { id: 1 };
      throw new Error('cancelled');
    }
    await expect(writeJsonWithArray(file, head, 'instances', failing())).rejects.toThrow('cancelled');
    expect(readFileSync(file, 'utf8')).toBe('{"old": true}\n');
    expect(readdirSync(t.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    await expect(writeJsonWithArray(path.join(t.dir, 'x.json'), { instances: [] }, 'instances', [])).rejects.toThrow(/already has/);
    expect(existsSync(path.join(t.dir, 'x.json'))).toBe(false);
  });
});
