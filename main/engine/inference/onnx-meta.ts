// Reads what the engine needs from an ONNX ModelProto in plain JavaScript, before onnxruntime sees the file:
// ir_version, opset imports, graph inputs/outputs (shapes, element types) and metadata_props (field 14),
// which the onnxruntime Node API does not expose. A minimal protobuf reader: every length is bounds-checked,
// so a file that is not ONNX is refused with a clear message instead of crashing or confusing the runtime.
import { promises as fs } from 'node:fs';
import { InputError } from '../image';

/** ONNX TensorProto.DataType names for the element types a model input/output can have. */
const ELEM_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

/** One dimension: a fixed size, a symbolic name (dynamic), or null when the file says nothing. */
export type OnnxDim = number | string | null;

export interface OnnxTensorInfo {
  name: string;
  /** float32, uint8 ... or "unknown(n)"; "non-tensor" for sequence/map types. */
  elemType: string;
  /** Null when the file declares no shape (rank unknown). */
  shape: OnnxDim[] | null;
}

export interface OnnxModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: Array<{ domain: string; version: number }>;
  graphName: string;
  /** Graph inputs that are not initializers (weights), in declaration order. */
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
  nodeCount: number;
  /** metadata_props as key -> value (Deepness: model_type, class_names, resolution ...). */
  metadata: Record<string, string>;
  /** Tensors stored outside the file (external data), which this reader does not follow. */
  usesExternalData: boolean;
}

class ProtoError extends Error {}

/** Cursor over a protobuf message; every read is checked against the message end. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** Varint as a JS number (exact up to 2^53, which covers every size an image model declares). */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new ProtoError('varint longer than 10 bytes');
  }

  /** Returns [start, end) of a length-delimited field and moves past it. */
  bytes(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) throw new ProtoError(`field length ${len} runs past the end of its message`);
    this.pos = start + len;
    return [start, start + len];
  }

  string(): string {
    const [s, e] = this.bytes();
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + s, e - s).toString('utf8');
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.advance(8);
        return;
      case 2:
        this.bytes();
        return;
      case 5:
        this.advance(4);
        return;
      default:
        // Groups (3/4) are not used by ONNX; anything else means this is not a protobuf at all.
        throw new ProtoError(`unexpected wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw new ProtoError('truncated fixed-size field');
    this.pos += n;
  }

  /** Iterates the fields of this message: callback gets (field number, wire type). */
  fields(onField: (field: number, wireType: number) => void): void {
    while (!this.done()) {
      const key = this.varint();
      const field = Math.floor(key / 8);
      const wireType = key & 7;
      if (field === 0) throw new ProtoError('field number 0');
      onField(field, wireType);
    }
  }

  sub(): Reader {
    const [s, e] = this.bytes();
    return new Reader(this.buf, s, e);
  }
}

function expectWire(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new ProtoError(`${what} has wire type ${actual}, expected ${expected}`);
}

function readDim(r: Reader): OnnxDim {
  let dim: OnnxDim = null;
  r.fields((f, w) => {
    if (f === 1 && w === 0) dim = r.varint();
    else if (f === 2 && w === 2) dim = r.string();
    else r.skip(w);
  });
  return dim;
}

function readValueInfo(r: Reader): OnnxTensorInfo {
  const info: OnnxTensorInfo = { name: '', elemType: 'non-tensor', shape: null };
  r.fields((f, w) => {
    if (f === 1) {
      expectWire(w, 2, 'ValueInfoProto.name');
      info.name = r.string();
    } else if (f === 2 && w === 2) {
      // TypeProto: tensor_type = 1 -> { elem_type = 1, shape = 2 { dim = 1 } }
      const tp = r.sub();
      tp.fields((tf, tw) => {
        if (tf === 1 && tw === 2) {
          const t = tp.sub();
          t.fields((ef, ew) => {
            if (ef === 1 && ew === 0) {
              const code = t.varint();
              info.elemType = ELEM_TYPES[code] ?? `unknown(${code})`;
            } else if (ef === 2 && ew === 2) {
              const shape: OnnxDim[] = [];
              const s = t.sub();
              s.fields((sf, sw) => {
                if (sf === 1 && sw === 2) shape.push(readDim(s.sub()));
                else s.skip(sw);
              });
              info.shape = shape;
            } else t.skip(ew);
          });
        } else tp.skip(tw);
      });
    } else r.skip(w);
  });
  return info;
}

/** Parses a serialized ModelProto. Throws InputError(file, ...) when the bytes are not a usable ONNX model. */
export function parseOnnx(bytes: Uint8Array, file: string): OnnxModelInfo {
  const info: OnnxModelInfo = {
    irVersion: 0,
    producerName: '',
    producerVersion: '',
    opsets: [],
    graphName: '',
    inputs: [],
    outputs: [],
    nodeCount: 0,
    metadata: {},
    usesExternalData: false,
  };
  let sawGraph = false;
  const initializers = new Set<string>();
  const declaredInputs: OnnxTensorInfo[] = [];
  try {
    if (bytes.length === 0) throw new ProtoError('the file is empty');
    const r = new Reader(bytes, 0, bytes.length);
    r.fields((f, w) => {
      switch (f) {
        case 1:
          expectWire(w, 0, 'ir_version');
          info.irVersion = r.varint();
          return;
        case 2:
          expectWire(w, 2, 'producer_name');
          info.producerName = r.string();
          return;
        case 3:
          expectWire(w, 2, 'producer_version');
          info.producerVersion = r.string();
          return;
        case 7: {
          expectWire(w, 2, 'graph');
          sawGraph = true;
          const g = r.sub();
          g.fields((gf, gw) => {
            if (gf === 1 && gw === 2) {
              info.nodeCount++;
              g.skip(gw);
            } else if (gf === 2 && gw === 2) info.graphName = g.string();
            else if (gf === 5 && gw === 2) {
              // TensorProto: name = 8, data_location = 14 (1 = EXTERNAL).
              const t = g.sub();
              t.fields((tf, tw) => {
                if (tf === 8 && tw === 2) initializers.add(t.string());
                else if (tf === 14 && tw === 0) {
                  if (t.varint() === 1) info.usesExternalData = true;
                } else t.skip(tw);
              });
            } else if (gf === 11 && gw === 2) declaredInputs.push(readValueInfo(g.sub()));
            else if (gf === 12 && gw === 2) info.outputs.push(readValueInfo(g.sub()));
            else g.skip(gw);
          });
          return;
        }
        case 8: {
          expectWire(w, 2, 'opset_import');
          const o = r.sub();
          const opset = { domain: '', version: 0 };
          o.fields((of, ow) => {
            if (of === 1 && ow === 2) opset.domain = o.string();
            else if (of === 2 && ow === 0) opset.version = o.varint();
            else o.skip(ow);
          });
          info.opsets.push(opset);
          return;
        }
        case 14: {
          expectWire(w, 2, 'metadata_props');
          const m = r.sub();
          let key = '';
          let value = '';
          m.fields((mf, mw) => {
            if (mf === 1 && mw === 2) key = m.string();
            else if (mf === 2 && mw === 2) value = m.string();
            else m.skip(mw);
          });
          info.metadata[key] = value;
          return;
        }
        default:
          r.skip(w);
      }
    });
  } catch (err) {
    if (err instanceof ProtoError) throw new InputError(file, `not a valid ONNX model (${err.message})`);
    throw err;
  }
  // Structural checks: a random protobuf (or a lucky byte soup) parses but lacks these.
  if (info.irVersion < 3 || info.irVersion > 100) throw new InputError(file, `not a valid ONNX model (ir_version ${info.irVersion})`);
  if (!sawGraph) throw new InputError(file, 'not a valid ONNX model (no graph)');
  if (info.opsets.length === 0) throw new InputError(file, 'not a valid ONNX model (no opset_import)');
  if (info.nodeCount === 0) throw new InputError(file, 'not a valid ONNX model (the graph has no nodes)');
  info.inputs = declaredInputs.filter((i) => !initializers.has(i.name));
  if (info.inputs.length === 0) throw new InputError(file, 'not a valid ONNX model (the graph has no inputs)');
  if (info.outputs.length === 0) throw new InputError(file, 'not a valid ONNX model (the graph has no outputs)');
  return info;
}

/** Reads and parses an .onnx file. */
export async function readOnnxInfo(file: string): Promise<OnnxModelInfo> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(file, code === 'ENOENT' ? 'no such model file' : `cannot read the model file (${code ?? String(err)})`);
  }
  return parseOnnx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
}
