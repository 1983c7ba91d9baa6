// Streamed reading of one top-level array of a JSON file (instances.json's records): the same items as JSON.parse
// gives, whatever the formatting and wherever the chunks split (inside strings, escapes, multi-byte characters and
// nested arrays), a same-named key deeper down ignored; a missing, unclosed or broken array is a clear error.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonArrayItems } from '../../main/engine/export/json-items';
import { tempDir } from './helpers';

async function collect(file: string, key: string, chunkBytes?: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of jsonArrayItems(file, key, chunkBytes)) out.push(item);
  return out;
}

describe('jsonArrayItems', () => {
  const tmp = tempDir('delineate-json-items-');
  afterAll(() => tmp.cleanup());
  const doc = {
    source: { file: 'a "quoted" [x], {y}', nested: { instances: [9, 9] } },
    instancesCount: 6,
    classes: [{ name: 'b]},"instances":[' }],
    instances: [{ id: 1, note: 'é 東 \\" ]},', bbox: { min: [0, 1], max: [2, 3] } }, { id: 2, arr: [1, [2, 3]], s: 'a,b' }, 3, 'str', null, [], {}],
    after: [1, 2],
  };

  it.each([
    ['pretty', JSON.stringify(doc, null, 2)],
    ['compact', JSON.stringify(doc)],
  ])('%s: the same items as JSON.parse, for chunks of 1, 3, 7 bytes and 1 MiB', async (name, text) => {
    const file = path.join(tmp.dir, `${name}.json`);
    writeFileSync(file, text);
    for (const chunk of [1, 3, 7, 1 << 20]) expect(await collect(file, 'instances', chunk), `${chunk}`).toEqual(doc.instances);
    expect(await collect(file, 'after', 5)).toEqual([1, 2]);
  });

  it('an empty array has no items; a missing, unclosed or broken array names the file', async () => {
    const empty = path.join(tmp.dir, 'empty.json');
    writeFileSync(empty, '{"instances": [ ]}');
    expect(await collect(empty, 'instances')).toEqual([]);
    const none = path.join(tmp.dir, 'none.json');
    writeFileSync(none, JSON.stringify({ source: { instances: [1] } }));
    await expect(collect(none, 'instances')).rejects.toThrow(/none\.json.*no "instances" array/);
    const cut = path.join(tmp.dir, 'cut.json');
    writeFileSync(cut, JSON.stringify(doc, null, 2).slice(0, 300));
    await expect(collect(cut, 'instances')).rejects.toThrow(/cut\.json.*not closed/);
    const broken = path.join(tmp.dir, 'broken.json');
    writeFileSync(broken, '{"instances": [{"id": 1}, {"id": 2,}]}');
    await expect(collect(broken, 'instances')).rejects.toThrow(/broken\.json.*not valid JSON/);
  });
});
