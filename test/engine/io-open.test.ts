// openImage: PNG/JPEG/TIFF via sharp and geotiff.js, folders of numbered slices, and one-line errors for bad input.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { openImage, detectFormat, naturalCompare, sliceNumberGaps } from '../../main/engine/io';
import { checkCompatibility, imageTraits } from '../../main/engine/inference/compatibility';
import { describe as describeImage, InputError } from '../../main/engine/image';
import { planar, tempDir, writeTestPng } from './helpers';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const at = (name: string): string => path.join(tmp.dir, name);

function ramp(n: number, mul: number, add: number, bits: 8 | 16): Uint8Array | Uint16Array {
  const a = bits === 16 ? new Uint16Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) a[i] = (i * mul + add) % (bits === 16 ? 65536 : 256);
  return a;
}

describe('PNG via sharp', () => {
  const W = 7;
  const H = 5;
  for (const channels of [1, 2, 3, 4] as const) {
    for (const bits of [8, 16] as const) {
      it(`reads ${bits}-bit PNG with ${channels} channel(s) as stored`, async () => {
        const samples = ramp(W * H * channels, bits === 16 ? 977 : 7, 3, bits);
        const file = at(`p${channels}_${bits}.png`);
        writeTestPng(file, W, H, channels, samples);
        const src = await openImage(file);
        expect(src.format).toBe('png');
        expect(src.kind).toBe('image');
        expect([src.width, src.height, src.depth, src.channels]).toEqual([W, H, 1, channels]);
        expect(src.dtype).toBe(bits === 16 ? 'uint16' : 'uint8');
        expect(src.geometry).toEqual({ type: 'pixel' });
        const full = await src.read();
        expect(Array.from(full.data)).toEqual(planar(samples, channels));
        // A window equals the same box cut from the full read.
        const win = await src.read({ x: 2, y: 1, width: 4, height: 3 });
        const expected: number[] = [];
        for (let c = 0; c < channels; c++) for (let y = 1; y < 4; y++) for (let x = 2; x < 6; x++) expected.push(full.data[(c * H + y) * W + x]!);
        expect(Array.from(win.data)).toEqual(expected);
        expect([win.width, win.height, win.channels]).toEqual([4, 3, channels]);
        await src.close();
      });
    }
  }

  it('reads a single channel of a window', async () => {
    const samples = ramp(6 * 4 * 3, 5, 1, 8);
    writeTestPng(at('rgb.png'), 6, 4, 3, samples);
    const src = await openImage(at('rgb.png'));
    const b = await src.read({ x: 1, y: 2, width: 2, height: 1, channels: [2] });
    expect(Array.from(b.data)).toEqual([samples[(2 * 6 + 1) * 3 + 2], samples[(2 * 6 + 2) * 3 + 2]]);
  });

  it('takes the user spacing (z defaults to 1 mm)', async () => {
    writeTestPng(at('s.png'), 3, 3, 1, ramp(9, 1, 0, 8));
    const src = await openImage(at('s.png'), { spacingMm: [0.5, 0.25] });
    expect(src.geometry).toEqual({ type: 'pixel', spacingMm: [0.5, 0.25, 1] });
    const info = describeImage(src);
    expect(info.spacingMm).toEqual([0.5, 0.25, 1]);
  });
});

describe('JPEG and plain TIFF', () => {
  it('reads an RGB JPEG', async () => {
    const raw = Buffer.alloc(16 * 8 * 3, 200);
    await sharp(raw, { raw: { width: 16, height: 8, channels: 3 } }).jpeg({ quality: 95 }).toFile(at('x.jpg'));
    const src = await openImage(at('x.jpg'));
    expect([src.format, src.kind, src.width, src.height, src.channels, src.dtype]).toEqual(['jpeg', 'image', 16, 8, 3, 'uint8']);
    const b = await src.read();
    expect(Math.abs(b.data[0]! - 200)).toBeLessThanOrEqual(2);
  });

  it('reads a non-geo TIFF (16-bit grey) with windows', async () => {
    const u16 = ramp(10 * 6, 1234, 9, 16) as Uint16Array;
    // The fixture comes from our own writer (sharp's raw input is 8-bit); the test below covers libvips TIFFs.
    const { writeTiff } = await import('../../main/engine/io/tiff-writer');
    await writeTiff(at('plain.tif'), { data: u16, width: 10, height: 6, depth: 1, channels: 1, geometry: { type: 'pixel' } });
    const src = await openImage(at('plain.tif'));
    expect([src.format, src.kind, src.dtype, src.channels]).toEqual(['tiff', 'image', 'uint16', 1]);
    expect(src.geometry.type).toBe('pixel');
    const full = await src.read();
    expect(Array.from(full.data)).toEqual(Array.from(u16));
    const win = await src.read({ x: 3, y: 2, width: 5, height: 3 });
    const expected: number[] = [];
    for (let y = 2; y < 5; y++) for (let x = 3; x < 8; x++) expected.push(u16[y * 10 + x]!);
    expect(Array.from(win.data)).toEqual(expected);
  });
});

it('reads an 8-bit RGB TIFF written by libvips (LZW, tiled)', async () => {
  const raw = Buffer.from(ramp(20 * 12 * 3, 11, 5, 8));
  await sharp(raw, { raw: { width: 20, height: 12, channels: 3 } }).tiff({ compression: 'lzw', tile: true, tileWidth: 16, tileHeight: 16 }).toFile(at('vips.tif'));
  const src = await openImage(at('vips.tif'));
  expect([src.format, src.kind, src.width, src.height, src.channels, src.dtype]).toEqual(['tiff', 'image', 20, 12, 3, 'uint8']);
  expect(Array.from((await src.read()).data)).toEqual(planar(new Uint8Array(raw), 3));
});

describe('folders of numbered slices', () => {
  it('stacks slices in natural order and ignores masks', async () => {
    const dir = at('stack');
    mkdirSync(dir);
    for (const n of [1, 2, 10]) {
      const name = `${n}_image.png`;
      writeTestPng(path.join(dir, name), 4, 3, 1, new Uint8Array(12).fill(n));
      writeTestPng(path.join(dir, `${n}_mask.png`), 4, 3, 1, new Uint8Array(12).fill(255));
    }
    writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    const src = await openImage(dir);
    expect([src.format, src.kind, src.width, src.height, src.depth, src.channels]).toEqual(['stack', 'image', 4, 3, 3, 1]);
    const all = await src.read();
    expect([all.data[0], all.data[12], all.data[24]]).toEqual([1, 2, 10]);
    const one = await src.read({ z: 2, depth: 1, x: 1, width: 2 });
    expect(Array.from(one.data)).toEqual(new Array(6).fill(10));
    expect(naturalCompare('2_image.png', '10_image.png')).toBeLessThan(0);
    // Seven numbers missing among three files: more than the stack holds, so not made up (see below).
    expect(src.meta.sliceNumberGaps).toEqual([{ after: '2_image.png', before: '10_image.png', missing: 7 }]);
    expect(src.meta.filledPlanes).toBeUndefined();
  });

  it('puts each numbered slice on the plane its number gives and interpolates the planes of missing numbers', async () => {
    const dir = at('stack-gap');
    mkdirSync(dir);
    for (const n of [1, 2, 3, 4, 5, 9, 10]) writeTestPng(path.join(dir, `${n}_image.png`), 4, 3, 1, new Uint8Array(12).fill(10 * n));
    const src = await openImage(dir);
    expect(src.depth).toBe(10);
    expect(src.meta.filledPlanes).toEqual([5, 6, 7]);
    const all = await src.read();
    expect(Array.from({ length: 10 }, (_, z) => all.data[z * 12])).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    const part = await src.read({ z: 6, depth: 3, y: 1, height: 1, x: 2, width: 2 });
    expect(Array.from(part.data)).toEqual([70, 70, 80, 80, 90, 90]);
    await src.close();
  });

  it('does not make up more planes than a stack has files: slices 1, 2 and 900 stay three planes, and the warning says why', async () => {
    const dir = at('stack-far');
    mkdirSync(dir);
    for (const n of [1, 2, 3, 900]) writeTestPng(path.join(dir, `s${n}.png`), 4, 3, 1, new Uint8Array(12).fill(n % 256));
    const src = await openImage(dir);
    expect(src.depth).toBe(4);
    expect(src.meta.filledPlanes).toBeUndefined();
    const warnings = checkCompatibility({ id: 'm', kinds: ['image'], input: { channels: ['grey'] } } as unknown as Parameters<typeof checkCompatibility>[0], await imageTraits(src, []));
    expect(warnings.map((w) => w.message)).toEqual([expect.stringMatching(/skip 896 slice\(s\).*not filled in; slices stack at one spacing/)]);
    await src.close();
  });

  it('finds the slice numbers a stack skips, from the one number that varies in the names', () => {
    expect(sliceNumberGaps(['1_image.png', '2_image.png', '10_image.png'])).toEqual([{ after: '2_image.png', before: '10_image.png', missing: 7 }]);
    const lgg = (k: number): string => `TCGA_CS_4941_19960909_${k}.tif`;
    expect(sliceNumberGaps([1, 2, 3, 5, 6, 9].map(lgg))).toEqual([
      { after: lgg(3), before: lgg(5), missing: 1 },
      { after: lgg(6), before: lgg(9), missing: 2 },
    ]);
    expect(sliceNumberGaps([1, 2, 3, 4].map(lgg))).toEqual([]);
    // Every fifth slice exported: a step of 5 is the series' own; 15 -> 25 skips one.
    expect(sliceNumberGaps(['IM-0001-0005.png', 'IM-0001-0010.png', 'IM-0001-0015.png', 'IM-0001-0025.png'])).toEqual([{ after: 'IM-0001-0015.png', before: 'IM-0001-0025.png', missing: 1 }]);
    // Not one slice index: two numbers vary, counts differ, or steps are not multiples of the smallest.
    expect(sliceNumberGaps(['s1_t5.png', 's2_t3.png', 's3_t9.png'])).toEqual([]);
    expect(sliceNumberGaps(['a1.png', 'a2.png', 'a3_4.png'])).toEqual([]);
    expect(sliceNumberGaps(['x2.png', 'x4.png', 'x7.png'])).toEqual([]);
  });

  it('names the odd slice when sizes differ', async () => {
    const dir = at('odd');
    mkdirSync(dir);
    writeTestPng(path.join(dir, '001_image.png'), 4, 3, 1, new Uint8Array(12));
    writeTestPng(path.join(dir, '002_image.png'), 5, 3, 1, new Uint8Array(15));
    await expect(openImage(dir)).rejects.toThrow(/002_image\.png: slice is 5x3/);
  });

  it('refuses a folder with nothing readable', async () => {
    const dir = at('empty');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'readme.md'), '#');
    await expect(openImage(dir)).rejects.toBeInstanceOf(InputError);
    await expect(openImage(dir)).rejects.toThrow(/no numbered slice images/);
  });
});

describe('bad input is one clear InputError', () => {
  it('missing file', async () => {
    await expect(openImage(at('nope.png'))).rejects.toThrow(/nope\.png: no such file or folder$/);
  });
  it('not an image', async () => {
    writeFileSync(at('a.txt'), 'just text, not pixels');
    await expect(openImage(at('a.txt'))).rejects.toThrow(/not a supported image/);
  });
  it('empty file', async () => {
    writeFileSync(at('e.png'), '');
    await expect(openImage(at('e.png'))).rejects.toThrow(/empty file/);
  });
  it('text named .png', async () => {
    writeFileSync(at('fake.png'), 'hello');
    await expect(openImage(at('fake.png'))).rejects.toThrow(/not a valid PNG/);
  });
  it('truncated PNG fails at open or read with an InputError, never a crash', async () => {
    writeTestPng(at('whole.png'), 64, 64, 3, ramp(64 * 64 * 3, 13, 1, 8));
    const bytes = readFileSync(at('whole.png'));
    writeFileSync(at('cut.png'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const attempt = async (): Promise<void> => {
      const src = await openImage(at('cut.png'));
      await src.read();
    };
    await expect(attempt()).rejects.toBeInstanceOf(InputError);
  });
  it('truncated TIFF', async () => {
    const { writeTiff } = await import('../../main/engine/io/tiff-writer');
    await writeTiff(at('t.tif'), { data: ramp(300 * 300, 7, 1, 8), width: 300, height: 300, depth: 1, channels: 1, geometry: { type: 'pixel' } });
    writeFileSync(at('tcut.tif'), readFileSync(at('t.tif')).subarray(0, 2000));
    const attempt = async (): Promise<void> => {
      const src = await openImage(at('tcut.tif'));
      await src.read();
    };
    await expect(attempt()).rejects.toBeInstanceOf(InputError);
  });
  it('detects formats by content', () => {
    expect(detectFormat(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10]))).toBe('png');
    expect(detectFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(detectFormat(new Uint8Array([0x49, 0x49, 42, 0]))).toBe('tiff');
    expect(detectFormat(new Uint8Array([0x4d, 0x4d, 0, 42]))).toBe('tiff');
    expect(detectFormat(new Uint8Array([1, 2, 3]))).toBe('unknown');
  });
});

describe('SourceCache', () => {
  it('reuses an open source and reopens a changed file', async () => {
    const { SourceCache } = await import('../../main/engine/io/cache');
    const cache = new SourceCache(2);
    writeTestPng(at('c.png'), 2, 2, 1, Uint8Array.from([1, 2, 3, 4]));
    const first = await cache.use(at('c.png'), {}, async (s) => s);
    const again = await cache.use(at('c.png'), {}, async (s) => s);
    expect(again).toBe(first);
    writeTestPng(at('c.png'), 3, 2, 1, Uint8Array.from([1, 2, 3, 4, 5, 6]));
    const { utimesSync } = await import('node:fs');
    utimesSync(at('c.png'), new Date(), new Date(Date.now() + 5000));
    expect(await cache.use(at('c.png'), {}, async (s) => s.width)).toBe(3);
    await expect(cache.use(at('none.png'), {}, async (s) => s)).rejects.toBeInstanceOf(InputError);
    await cache.clear();
  });
});
