// renderSlice: windowing (request, file, uint8 as stored, percentile stretch), band choice, area-average downsampling.
import { describe, expect, it } from 'vitest';
import { renderSlice } from '../../main/engine/render/slice';
import { dtypeOf, type ImageSource, type PixelArray, type Region } from '../../main/engine/image';

/** An in-memory ImageSource over a channel-planar array. */
function memSource(data: PixelArray, width: number, height: number, depth: number, channels: number, extra: Partial<ImageSource> = {}): ImageSource {
  return {
    file: 'mem',
    format: 'mem',
    kind: 'image',
    width,
    height,
    depth,
    channels,
    dtype: dtypeOf(data),
    geometry: { type: 'pixel' },
    meta: {},
    async read(region: Region = {}) {
      const z = region.z ?? 0;
      const chans = region.channels ?? Array.from({ length: channels }, (_, i) => i);
      const plane = width * height;
      const out = new (data.constructor as new (n: number) => PixelArray)(plane * chans.length);
      chans.forEach((c, ci) => out.set(data.subarray((c * depth + z) * plane, (c * depth + z + 1) * plane), ci * plane));
      return { data: out, width, height, depth: 1, channels: chans.length, dtype: dtypeOf(data) };
    },
    close: async () => undefined,
    ...extra,
  };
}

const px = (b: { rgba: Uint8Array }, i: number): number[] => Array.from(b.rgba.subarray(i * 4, i * 4 + 4));

describe('renderSlice', () => {
  it('shows uint8 grey as stored', async () => {
    const src = memSource(Uint8Array.from([0, 10, 200, 255]), 2, 2, 1, 1);
    const b = await renderSlice(src, { z: 0, maxSize: 512 });
    expect([b.width, b.height, b.scale]).toEqual([2, 2, 1]);
    expect(b.window).toEqual({ center: 127.5, width: 255 });
    expect([px(b, 0), px(b, 1), px(b, 2), px(b, 3)]).toEqual([[0, 0, 0, 255], [10, 10, 10, 255], [200, 200, 200, 255], [255, 255, 255, 255]]);
  });

  it('uses the requested window, then the file window, on the chosen slice', async () => {
    const data = Int16Array.from([0, 0, -100, 100]); // z=0: 0,0 ; z=1: -100,100
    const src = memSource(data, 2, 1, 2, 1, { meta: { windowCenter: 0, windowWidth: 400 } });
    const fileWin = await renderSlice(src, { z: 1, maxSize: 64 });
    expect(fileWin.window).toEqual({ center: 0, width: 400 });
    expect([px(fileWin, 0)[0], px(fileWin, 1)[0]]).toEqual([64, 191]);
    const asked = await renderSlice(src, { z: 1, maxSize: 64, window: { center: 0, width: 200 } });
    expect([px(asked, 0)[0], px(asked, 1)[0]]).toEqual([0, 255]);
  });

  it('stretches 0.5-99.5 percentiles when there is no window', async () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => i);
    const b = await renderSlice(memSource(data, 1000, 1, 1, 1), { z: 0, maxSize: 2000 });
    expect(b.window.center - b.window.width / 2).toBeCloseTo(5, 0);
    expect(b.window.center + b.window.width / 2).toBeCloseTo(994, 0);
    expect(px(b, 0)[0]).toBe(0);
    expect(px(b, 999)[0]).toBe(255);
  });

  it('downsamples by area average to maxSize and reports the scale', async () => {
    const data = new Uint8Array(8 * 4);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) data[y * 8 + x] = x < 4 ? 100 : y < 2 ? 0 : 200;
    const b = await renderSlice(memSource(data, 8, 4, 1, 1), { z: 0, maxSize: 2 });
    expect([b.width, b.height, b.scale]).toEqual([2, 1, 4]);
    expect([px(b, 0)[0], px(b, 1)[0]]).toEqual([100, 100]);
  });

  it('shows RGB bands and honours band selection; nodata is transparent', async () => {
    const data = Uint8Array.from([10, 20, 30, 40, 50, 60]); // 2 pixels x 3 bands, planar
    const src = memSource(data, 2, 1, 1, 3, { nodata: 20 });
    const rgb = await renderSlice(src, { z: 0, maxSize: 8 });
    expect(px(rgb, 0)).toEqual([10, 30, 50, 255]);
    const picked = await renderSlice(src, { z: 0, maxSize: 8, bands: [2, 1, 0] });
    expect(px(picked, 0)).toEqual([50, 30, 10, 255]);
    expect(px(rgb, 1)).toEqual([0, 0, 0, 0]);
  });
});
