import { describe, expect, it } from 'vitest';
import { flood4 } from '../../main/engine/postprocess/flood4';

/** A hand-drawn grid: '#' is open (accept says yes), '.' is closed. */
function grid(rows: string[]) {
  const width = rows[0]!.length;
  const height = rows.length;
  const open = new Uint8Array(width * height);
  rows.forEach((r, y) => [...r].forEach((c, x) => (open[y * width + x] = c === '#' ? 1 : 0)));
  return { width, height, open };
}

/** Runs flood4 on the grid, counting accept and fill calls per pixel; returns the filled grid drawn as rows. */
function run(rows: string[], seeds: number[]) {
  const { width, height, open } = grid(rows);
  const asked = new Uint32Array(width * height);
  const filled = new Uint32Array(width * height);
  const coords: Array<[number, number, number]> = [];
  flood4(
    width,
    height,
    seeds,
    (i, x, y) => {
      asked[i]!++;
      coords.push([i, x, y]);
      return open[i] === 1;
    },
    (i) => {
      filled[i]!++;
    },
  );
  const drawn: string[] = [];
  for (let y = 0; y < height; y++) drawn.push([...filled.subarray(y * width, (y + 1) * width)].map((n) => (n ? '#' : '.')).join(''));
  return { asked, filled, coords, drawn, open, width };
}

describe('flood4', () => {
  const rows = [
    '##..#', //
    '##.#.',
    '..#..',
    '#.###',
  ];

  it('fills the 4-connected part holding the seed; a diagonal neighbour is not reached', () => {
    const { drawn } = run(rows, [0]);
    expect(drawn).toEqual(['##...', '##...', '.....', '.....']);
    // (2, 2) touches the open (1, 1) and (3, 1) only diagonally: from it the flood stays in its own part.
    expect(run(rows, [2 * 5 + 2]).drawn).toEqual(['.....', '.....', '..#..', '..###']);
  });

  it('floods from several seeds at once, a seed listed twice or inside another part counted once', () => {
    const { drawn, asked, filled } = run(rows, [0, 4, 4, 1, 3 * 5 + 4]);
    expect(drawn).toEqual(['##..#', '##...', '..#..', '..###']);
    expect(Math.max(...asked)).toBe(1);
    expect(Math.max(...filled)).toBe(1);
  });

  it('asks accept at most once per pixel, with its x and y, and fills each accepted pixel once', () => {
    const open = ['#####', '#####', '#####', '#####'];
    const { asked, filled, coords, width } = run(open, [7, 12, 0]);
    expect([...asked].every((n) => n === 1)).toBe(true);
    expect([...filled].every((n) => n === 1)).toBe(true);
    for (const [i, x, y] of coords) expect([x, y]).toEqual([i % width, Math.floor(i / width)]);
  });

  it('asks only the seeds and the neighbours of filled pixels; refused pixels are asked once and stop the flood', () => {
    const { asked, filled, open } = run(rows, [0]);
    // Asked: the 2 x 2 block and its 4 closed neighbours inside the grid ((2, 0), (2, 1), (0, 2), (1, 2)).
    expect([...asked].reduce((a, b) => a + b, 0)).toBe(8);
    expect([...filled].reduce((a, b) => a + b, 0)).toBe(4);
    for (let i = 0; i < asked.length; i++) if (filled[i]) expect(open[i]).toBe(1);
  });

  it('fills nothing from a refused seed', () => {
    const { asked, filled } = run(rows, [2]);
    expect([...filled].every((n) => n === 0)).toBe(true);
    expect([...asked].reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('refuses a seed outside the grid', () => {
    expect(() => run(rows, [20])).toThrow(RangeError);
    expect(() => run(rows, [-1])).toThrow(RangeError);
  });
});
