/**
 * Reads a TF.js graph model (model.json topology + its weights file) into plain structures for
 * the ONNX translator: the nodes with decoded attributes, and every weight as a typed array
 * (float16 and affine-quantized weights dequantized to float32, the way tfjs does at load).
 */

export class GraphModelFormatError extends Error {
  override readonly name = 'GraphModelFormatError';
}

export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization?: { readonly dtype: string; readonly scale?: number; readonly min?: number; readonly original_dtype?: string };
}

export interface GraphModelJson {
  readonly format?: string;
  readonly modelTopology: { readonly node: readonly RawNode[] };
  readonly weightsManifest: readonly { readonly paths: readonly string[]; readonly weights: readonly WeightSpec[] }[];
}

interface RawAttr {
  readonly s?: string;
  readonly i?: string | number;
  readonly f?: number;
  readonly b?: boolean;
  readonly type?: string;
  readonly list?: { readonly i?: readonly (string | number)[]; readonly s?: readonly string[]; readonly f?: readonly number[] };
  readonly shape?: { readonly dim?: readonly { readonly size: string | number }[] };
}

interface RawNode {
  readonly name: string;
  readonly op: string;
  readonly input?: readonly string[];
  readonly attr?: Readonly<Record<string, RawAttr>>;
}

/** A graph node with the attribute accessors the translator needs. */
export class TfNode {
  constructor(
    readonly name: string,
    readonly op: string,
    /** Input tensor names (":0" suffixes stripped, other output indices kept; control inputs dropped). */
    readonly inputs: readonly string[],
    private readonly attr: Readonly<Record<string, RawAttr>>,
  ) {}

  has(key: string): boolean {
    return key in this.attr;
  }

  str(key: string, fallback?: string): string {
    const s = this.attr[key]?.s;
    if (s === undefined) {
      if (fallback !== undefined) return fallback;
      throw new GraphModelFormatError(`node ${this.name} (${this.op}) has no string attribute "${key}"`);
    }
    return Buffer.from(s, 'base64').toString('utf8');
  }

  bool(key: string, fallback = false): boolean {
    return this.attr[key]?.b ?? fallback;
  }

  int(key: string, fallback?: number): number {
    const v = this.attr[key]?.i;
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new GraphModelFormatError(`node ${this.name} (${this.op}) has no int attribute "${key}"`);
    }
    return Number(v);
  }

  float(key: string, fallback?: number): number {
    const v = this.attr[key]?.f;
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new GraphModelFormatError(`node ${this.name} (${this.op}) has no float attribute "${key}"`);
    }
    return Number(v);
  }

  strs(key: string): string[] {
    return (this.attr[key]?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
  }

  ints(key: string, fallback?: readonly number[]): number[] {
    const v = this.attr[key]?.list?.i;
    if (v === undefined) {
      if (fallback !== undefined) return [...fallback];
      throw new GraphModelFormatError(`node ${this.name} (${this.op}) has no int-list attribute "${key}"`);
    }
    return v.map(Number);
  }

  dtype(key: string): string | undefined {
    return this.attr[key]?.type;
  }

  /** Placeholder shape, -1 for unknown dims. */
  shape(key: string): number[] {
    const dims = this.attr[key]?.shape?.dim;
    if (!dims) throw new GraphModelFormatError(`node ${this.name} (${this.op}) has no shape attribute "${key}"`);
    return dims.map((d) => Number(d.size));
  }
}

export interface TfConst {
  readonly shape: readonly number[];
  /** float32 (after dequantization) or int32. */
  readonly data: Float32Array | Int32Array;
}

export interface TfGraph {
  readonly nodes: readonly TfNode[];
  readonly consts: ReadonlyMap<string, TfConst>;
}

/** IEEE 754 half → float. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes a weight takes in the weights file (after quantization). */
function storedBytes(s: WeightSpec): number {
  const d = s.quantization?.dtype ?? s.dtype;
  if (d === 'float32' || d === 'int32') return 4;
  if (d === 'float16' || d === 'uint16') return 2;
  if (d === 'uint8') return 1;
  throw new GraphModelFormatError(`weight ${s.name} has dtype ${d}; only float32, int32 and float16/uint8/uint16 quantization are supported`);
}

function stripInput(name: string): string | null {
  if (name.startsWith('^')) return null; // control dependency: no data
  return name.replace(/:0$/, '');
}

/** Parses the topology and decodes the weights (one weights file, as the model store serves). */
export function readGraphModel(json: GraphModelJson, weights: Uint8Array): TfGraph {
  if (!json.modelTopology?.node) throw new GraphModelFormatError('model JSON has no modelTopology.node (not a TF.js graph model)');
  if (json.weightsManifest?.length !== 1) throw new GraphModelFormatError(`expected one weights group, found ${json.weightsManifest?.length ?? 0}`);
  const nodes = json.modelTopology.node.map((n) => {
    // "name:1" (a second output of a multi-output op) stays as it is: the translator refuses it if it is on its path.
    const inputs = (n.input ?? []).map(stripInput).filter((x): x is string => x !== null);
    return new TfNode(n.name, n.op, inputs, n.attr ?? {});
  });
  const specs = json.weightsManifest[0]!.weights;
  const size = specs.reduce((n, s) => n + product(s.shape) * storedBytes(s), 0);
  if (size !== weights.byteLength) throw new GraphModelFormatError(`the weights manifest describes ${size} bytes, the weights file has ${weights.byteLength}`);
  const consts = new Map<string, TfConst>();
  const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
  let offset = 0;
  for (const spec of specs) {
    const count = product(spec.shape);
    const q = spec.quantization;
    let data: Float32Array | Int32Array;
    if (!q) {
      if (spec.dtype === 'float32') {
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i, true);
      } else if (spec.dtype === 'int32') {
        data = new Int32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getInt32(offset + 4 * i, true);
      } else {
        throw new GraphModelFormatError(`weight ${spec.name} has dtype ${spec.dtype}; only float32 and int32 are supported`);
      }
      offset += 4 * count;
    } else if (q.dtype === 'float16') {
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(offset + 2 * i, true));
      offset += 2 * count;
    } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const bytes = q.dtype === 'uint8' ? 1 : 2;
      if (q.scale === undefined || q.min === undefined) throw new GraphModelFormatError(`weight ${spec.name} is ${q.dtype}-quantized without scale/min`);
      const f = new Float32Array(count);
      for (let i = 0; i < count; i++) f[i] = (bytes === 1 ? view.getUint8(offset + i) : view.getUint16(offset + 2 * i, true)) * q.scale + q.min;
      data = spec.dtype === 'int32' ? Int32Array.from(f, Math.round) : f;
      offset += bytes * count;
    } else {
      throw new GraphModelFormatError(`weight ${spec.name} uses quantization ${q.dtype}; not supported`);
    }
    consts.set(spec.name, { shape: [...spec.shape], data });
  }
  for (const n of nodes) {
    if (n.op === 'Const' && !consts.has(n.name)) throw new GraphModelFormatError(`Const node ${n.name} has no weight (inline constants are not supported)`);
  }
  return { nodes, consts };
}
