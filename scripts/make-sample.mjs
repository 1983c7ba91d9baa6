// Writes examples/phantom-flair.png: a synthetic 256x256 FLAIR-like axial slice (head, brain, ventricles and one
// bright lesion) so the README's CLI example runs on a sample the project makes itself.
import sharp from 'sharp';
import { mkdirSync } from 'node:fs';

const size = 256;
const px = new Uint8Array(size * size);
const inEllipse = (x, y, cx, cy, rx, ry) => ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
let seed = 7;
const noise = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 12;
for (let y = 0; y < size; y++) {
  for (let x = 0; x < size; x++) {
    let v = 0;
    if (inEllipse(x, y, 128, 128, 100, 118)) v = 150; // scalp and skull rim
    if (inEllipse(x, y, 128, 128, 92, 110)) v = 95; // brain
    if (inEllipse(x, y, 115, 120, 8, 22) || inEllipse(x, y, 141, 120, 8, 22)) v = 40; // ventricles (dark on FLAIR)
    if (inEllipse(x, y, 170, 90, 20, 16)) v = 210; // hyperintense lesion
    px[y * size + x] = v === 0 ? 0 : Math.max(1, Math.min(255, Math.round(v + noise())));
  }
}
mkdirSync('examples', { recursive: true });
await sharp(Buffer.from(px), { raw: { width: size, height: size, channels: 1 } }).png().toFile('examples/phantom-flair.png');
console.log('wrote examples/phantom-flair.png');
