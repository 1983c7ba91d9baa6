// Activation ranges for post-training quantisation (quantise_brain.py), measured with the runtime the app uses.
//   node models/training/activation_ranges.mjs GRAPH.onnx SLICES.f32 SIDE OUT.json
// GRAPH: a float model whose extra outputs are the tensors to quantise; SLICES: float32 N x SIDE x SIDE, already
// normalised as the app normalises; each slice runs as given and mirrored left-right (the manifest's flip).
// OUT: {tensor: {min, max}} over all runs (the full range: clipping to a percentile cost more Dice here).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'));
const ort = require('onnxruntime-node');
const [graph, slices, sideArg, out] = process.argv.slice(2);
if (!out) throw new Error('usage: activation_ranges.mjs GRAPH.onnx SLICES.f32 SIDE OUT.json');
const side = Number(sideArg);
const session = await ort.InferenceSession.create(graph, { intraOpNumThreads: 2 });
const buf = readFileSync(slices);
const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
const plane = side * side;
const ranges = {};
// A uniform sample of each tensor's values (SAMPLE per run), for clipping choices made later (quantise_brain.py).
const SAMPLE = Number(process.env.SAMPLE_PER_RUN ?? 0);
const samples = {};
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
const note = (name, data) => {
  if (SAMPLE > 0) {
    const s = samples[name] ?? (samples[name] = []);
    for (let j = 0; j < SAMPLE; j++) s.push(data[Math.floor(rand() * data.length)]);
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = 0; j < data.length; j++) {
    const v = data[j];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const r = ranges[name] ?? (ranges[name] = { min: Infinity, max: -Infinity });
  r.min = Math.min(r.min, lo);
  r.max = Math.max(r.max, hi);
};
for (let i = 0; i < all.length / plane; i++) {
  for (const flip of [false, true]) {
    const x = new Float32Array(plane);
    for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) x[r * side + c] = all[i * plane + r * side + (flip ? side - 1 - c : c)];
    const res = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 1, side, side]) });
    note(session.inputNames[0], x);
    for (const [name, t] of Object.entries(res)) if (name !== session.outputNames[0]) note(name, t.data);
  }
}
writeFileSync(out, JSON.stringify(ranges, null, 1));
if (SAMPLE > 0) {
  const names = Object.keys(samples);
  writeFileSync(out + '.names.json', JSON.stringify(names));
  const flat = new Float32Array(names.length * samples[names[0]].length);
  names.forEach((n, i) => flat.set(samples[n], i * samples[n].length));
  writeFileSync(out + '.samples.f32', Buffer.from(flat.buffer));
}
console.log(`${Object.keys(ranges).length} tensors over ${(all.length / plane) * 2} runs -> ${out}`);
