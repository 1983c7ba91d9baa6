// Guards of the large-result channels: 'result:tile', 'result:probability-tile', 'result:instances' (a page of at most
// 1000, a known sort key) and 'result:instance-at'; anything else is refused naming the argument.
import { describe, expect, it } from 'vitest';
import { validateArgs } from '../../main/ipc/validate';

const tile = { resultId: 'r_a1', level: 2, x: 3, y: 4, tileSize: 512, z: 0 };

describe('result tile and page guards', () => {
  it('accepts tiles, probability tiles, pages and picks as the contract types them', () => {
    expect(validateArgs('result:tile', [tile])[0]).toEqual(tile);
    expect(validateArgs('result:probability-tile', [{ ...tile, classId: 3 }])[0]).toEqual({ ...tile, classId: 3 });
    const page = { resultId: 'r_a1', offset: 2000, limit: 1000, sort: { key: 'meanProbability', descending: true }, classId: 2 };
    expect(validateArgs('result:instances', [page])[0]).toEqual(page);
    expect(validateArgs('result:instances', [{ resultId: 'r_a1', offset: 0, limit: 1, sort: { key: 'area' } }])[0]).toEqual({ resultId: 'r_a1', offset: 0, limit: 1, sort: { key: 'area' } });
    expect(validateArgs('result:instance-at', ['r_a1', 39999, 0, 0])).toEqual(['r_a1', 39999, 0, 0]);
  });

  it('refuses pages over 1000, unknown sort keys, odd tile sizes, levels past 24 and negative pixels', () => {
    expect(() => validateArgs('result:instances', [{ resultId: 'r_a1', offset: 0, limit: 1001 }])).toThrow(/\.limit: expected a value in \[1, 1000\]/);
    expect(() => validateArgs('result:instances', [{ resultId: 'r_a1', offset: -1, limit: 10 }])).toThrow(/\.offset/);
    expect(() => validateArgs('result:instances', [{ resultId: 'r_a1', offset: 0, limit: 10, sort: { key: 'perimeter' } }])).toThrow(/\.sort\.key: expected one of id, area, class, meanProbability/);
    expect(() => validateArgs('result:tile', [{ ...tile, tileSize: 300 }])).toThrow(/\.tileSize: expected 256 or 512/);
    expect(() => validateArgs('result:tile', [{ ...tile, level: 25 }])).toThrow(/\.level/);
    expect(() => validateArgs('result:tile', [{ ...tile, handle: 'h_x' }])).toThrow(/unexpected key "handle"/);
    expect(() => validateArgs('result:probability-tile', [tile])).toThrow(/\.classId: required/);
    expect(() => validateArgs('result:instance-at', ['r_a1', -1, 0, 0])).toThrow(/argument 2/);
    expect(() => validateArgs('result:instance-at', ['r_a1', 1, 2])).toThrow(/expected 4 argument/);
  });
});
