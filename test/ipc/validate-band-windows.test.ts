// 'image:tile' carries one display window per shown band (the per-band stretch of 16-bit and float rasters): kept
// through validation when well formed, refused when it is not a list of 1 to 3 windows with finite numbers.
import { describe, expect, it } from 'vitest';
import { validateArgs, ValidationError } from '../../main/ipc/validate';

const handle = 'h_' + 'c'.repeat(32);
const base = { handle, level: 2, x: 1, y: 0, tileSize: 256, z: 0 };

describe('image:tile bandWindows', () => {
  it('passes one window per band through', () => {
    const bandWindows = [
      { center: 2100, width: 2600 },
      { center: 3300, width: 2700 },
      { center: 4700, width: 2650 },
    ];
    const [req] = validateArgs('image:tile', [{ ...base, window: bandWindows[0], bandWindows, bands: [0, 1, 2] }]);
    expect(req).toEqual({ ...base, window: bandWindows[0], bandWindows, bands: [0, 1, 2] });
  });

  it('refuses malformed lists', () => {
    for (const bad of [[], [{ center: 1 }], [{ center: 'a', width: 2 }], [{ center: 1, width: -2 }], Array.from({ length: 4 }, () => ({ center: 1, width: 2 })), { center: 1, width: 2 }]) {
      expect(() => validateArgs('image:tile', [{ ...base, bandWindows: bad }])).toThrow(ValidationError);
    }
  });
});
