// Binary framing for the test host's WebSocket, shared by the Node server and the browser bridge: JSON for
// the structure, raw bytes for Uint8Arrays (slice bitmaps are megabytes; base64 would triple the work).
// Frame: u32 JSON length | JSON | (u32 length | bytes) per attachment; attachments replace {$bin: i}, or
// {$bin: i, $type: 'Uint32Array' | ...} for wider typed arrays (instance maps), rebuilt on the other side.

const enc = new TextEncoder();

/** Typed arrays besides Uint8Array that cross the socket as raw bytes (what structured clone passes in Electron). */
const WIDE = { Uint16Array, Int16Array, Uint32Array, Int32Array, Float32Array, Float64Array } as const;
type WideName = keyof typeof WIDE;
const wideName = (v: unknown): WideName | null => {
  for (const [name, ctor] of Object.entries(WIDE)) if (v instanceof ctor) return name as WideName;
  return null;
};
const dec = new TextDecoder();

export function encodeFrame(value: unknown): Uint8Array {
  const blobs: Uint8Array[] = [];
  const json = JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Uint8Array) {
      blobs.push(v);
      return { $bin: blobs.length - 1 };
    }
    const wide = wideName(v);
    if (wide) {
      const a = v as InstanceType<(typeof WIDE)[WideName]>;
      blobs.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      return { $bin: blobs.length - 1, $type: wide };
    }
    return v;
  });
  const head = enc.encode(json);
  let size = 4 + head.length;
  for (const b of blobs) size += 4 + b.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, head.length);
  out.set(head, 4);
  let at = 4 + head.length;
  for (const b of blobs) {
    view.setUint32(at, b.length);
    out.set(b, at + 4);
    at += 4 + b.length;
  }
  return out;
}

export function decodeFrame(frame: Uint8Array): unknown {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const headLength = view.getUint32(0);
  const json = dec.decode(frame.subarray(4, 4 + headLength));
  const blobs: Uint8Array[] = [];
  let at = 4 + headLength;
  while (at < frame.length) {
    const n = view.getUint32(at);
    // Copy so the bitmap owns an aligned buffer of its own.
    blobs.push(frame.slice(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return JSON.parse(json, (_k, v: unknown) => {
    if (typeof v === 'object' && v !== null && '$bin' in v && Object.keys(v).length === 1) {
      const blob = blobs[(v as { $bin: number }).$bin];
      if (!blob) throw new Error('bad frame: missing attachment');
      return blob;
    }
    if (typeof v === 'object' && v !== null && '$bin' in v && '$type' in v && Object.keys(v).length === 2) {
      const { $bin, $type } = v as { $bin: number; $type: string };
      const blob = blobs[$bin];
      if (!blob || !Object.hasOwn(WIDE, $type)) throw new Error('bad frame: bad typed attachment');
      const ctor = WIDE[$type as WideName];
      // The copy made above owns an aligned buffer of its own, so the view can start at 0.
      return new ctor(blob.buffer as ArrayBuffer, blob.byteOffset, blob.byteLength / ctor.BYTES_PER_ELEMENT);
    }
    return v;
  });
}

/** Renderer -> host. */
export interface WireCall {
  id: number;
  channel: string;
  args: unknown[];
}
