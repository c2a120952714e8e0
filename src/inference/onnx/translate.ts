/**
 * TF.js graph model → ONNX (opset 17), op by op, for the CNN backbones (and the person
 * detector) that maskstream runs on ONNX Runtime.
 *
 * Layout: TF graphs are NHWC; ONNX Conv/Pool/Resize are NCHW. Every rank-4 activation is kept in
 * NCHW inside the translated graph (one Transpose after the input, one before each output), and
 * constants are rewritten at translation time to the layout their consumer needs (conv filters
 * [kh,kw,ci,co] → [co,ci,kh,kw], per-channel vectors → [1,C,1,1], concat/reshape axes mapped).
 * Shapes are inferred statically with batch 1; the batch dimension of the translated graph is
 * left free ("batch"): reshapes copy it (0) and resize sizes are built from the input's shape.
 *
 * The model's input becomes uint8 RGB, NHWC [batch, H, W, 3]; the graph casts it and maps
 * [0, 255] to the model's input range itself. Outputs: "logits" [batch, H, W, 1] (the person
 * logit; for a two-class softmax model, person − background) and "features" [batch, h, w, c] (the
 * feature node the temporal stage stores), both NHWC float32. Pure: graph in, bytes out.
 */
import { GraphModelFormatError, type TfConst, type TfGraph, type TfNode } from './tfjsGraph.js';
import { DataType, encodeModel, type AttributeValue, type DataTypeCode, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnxProto.js';

/** An op (or an attribute value of one) the translator does not handle. */
export class UnsupportedOpError extends Error {
  override readonly name = 'UnsupportedOpError';
}

/** What to translate: the model's geometry and which nodes become outputs. */
export interface TranslateSpec {
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** [0, 255] is mapped to this range inside the graph. */
  readonly inputRange: readonly [number, number];
  /** Graph outputs, by name: a TF node and how it is turned into the output. */
  readonly outputs: readonly TranslateOutput[];
  /** Recorded in the model's metadata (producer, source files and their sha256). */
  readonly metadata: readonly (readonly [string, string])[];
  /**
   * The graph is fully convolutional: translate it for inputWidth × inputHeight even where its
   * placeholder says another size (shape computations are folded for this size).
   */
  readonly anyInputSize?: boolean;
}

export type TranslateOutput =
  /** The node as is (rank 4 → NHWC). */
  | { readonly name: string; readonly node: string; readonly kind: 'as-is' }
  /** A two-class output [n,H,W,2]: channel `personChannel` − the other → [n,H,W,1]. */
  | { readonly name: string; readonly node: string; readonly kind: 'softmax2-logit'; readonly personChannel: 0 | 1 };

export interface TranslatedModel {
  /** The serialised ModelProto. */
  readonly bytes: Uint8Array;
  /** TF ops translated, by op type, with counts (unreachable nodes are left out). */
  readonly tfOps: Readonly<Record<string, number>>;
  /** ONNX nodes emitted. */
  readonly onnxNodes: number;
}

export const TRANSLATOR_VERSION = '1';
export const INPUT_NAME = 'rgb';

/** A translated value: its ONNX name, its static TF (NHWC) shape with batch 1, and whether it is stored NCHW. */
interface Val {
  readonly name: string;
  readonly shape: readonly number[];
  readonly nchw: boolean;
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];
/** NHWC axis → NCHW axis. */
const AXIS_NCHW = [0, 2, 3, 1];

const ELEMENTWISE: Readonly<Record<string, string>> = { Add: 'Add', AddV2: 'Add', BiasAdd: 'Add', Mul: 'Mul', Sub: 'Sub', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min' };
const UNARY: Readonly<Record<string, string>> = { Relu: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Identity: 'Identity', Exp: 'Exp', Neg: 'Neg', Sqrt: 'Sqrt' };
/** Elementwise ops evaluated at translation time when every operand is a constant (shape arithmetic). */
const FOLD: Readonly<Record<string, (a: number, b: number) => number>> = {
  Add: (a, b) => a + b,
  AddV2: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  RealDiv: (a, b) => a / b,
  FloorDiv: (a, b) => Math.floor(a / b),
  Maximum: Math.max,
  Minimum: Math.min,
};

function product(s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

/** Data of `shape` permuted by `perm` (out axis i = in axis perm[i]). */
export function permute<T extends Float32Array | Int32Array>(data: T, shape: readonly number[], perm: readonly number[]): { data: T; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * shape[i + 1]!;
  const strideOfOut = perm.map((p) => inStrides[p]!);
  const out = new (data.constructor as { new (n: number): T })(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += idx[i]! * strideOfOut[i]!;
    out[o] = data[src]!;
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i]! < outShape[i]!) break;
      idx[i] = 0;
    }
  }
  return { data: out, shape: outShape };
}

function broadcastShape(a: readonly number[], b: readonly number[], where: string): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new GraphModelFormatError(`${where}: shapes [${a}] and [${b}] do not broadcast`);
    out.push(Math.max(x, y));
  }
  return out;
}

/** Explicit pads [before, after] per spatial dim for TF SAME/VALID/EXPLICIT padding, and the output size. */
function convGeometry(node: TfNode, inHW: readonly number[], kHW: readonly number[], strides: readonly number[], dilations: readonly number[]): { pads: number[]; out: number[] } {
  const padding = node.str('padding');
  const begin: number[] = [];
  const end: number[] = [];
  const out: number[] = [];
  const explicit = padding === 'EXPLICIT' ? node.ints('explicit_paddings') : null;
  for (let d = 0; d < 2; d++) {
    const inp = inHW[d]!;
    const k = (kHW[d]! - 1) * dilations[d]! + 1;
    const s = strides[d]!;
    if (padding === 'SAME') {
      const o = Math.ceil(inp / s);
      const total = Math.max((o - 1) * s + k - inp, 0);
      begin.push(Math.floor(total / 2));
      end.push(total - Math.floor(total / 2));
      out.push(o);
    } else if (padding === 'VALID') {
      begin.push(0);
      end.push(0);
      out.push(Math.floor((inp - k) / s) + 1);
    } else if (explicit) {
      // NHWC explicit_paddings: [0,0, top,bottom, left,right, 0,0]
      const b = explicit[2 + 2 * d]!;
      const e = explicit[3 + 2 * d]!;
      begin.push(b);
      end.push(e);
      out.push(Math.floor((inp + b + e - k) / s) + 1);
    } else {
      throw new UnsupportedOpError(`node ${node.name}: padding "${padding}" is not supported`);
    }
  }
  return { pads: [...begin, ...end], out };
}

class Translator {
  private readonly nodes: OnnxNode[] = [];
  private readonly inits: OnnxTensor[] = [];
  private readonly used = new Set<string>();
  private readonly vals = new Map<string, Val>();
  private readonly tfOps: Record<string, number> = {};
  private readonly byName: ReadonlyMap<string, TfNode>;
  /** Constants computed at translation time (shape arithmetic on the static shapes). */
  private readonly folded = new Map<string, TfConst>();

  constructor(
    private readonly graph: TfGraph,
    private readonly spec: TranslateSpec,
  ) {
    this.byName = new Map(graph.nodes.map((n) => [n.name, n]));
  }

  /** A name not used yet, derived from `base`. */
  private fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  private init(base: string, dataType: DataTypeCode, dims: readonly number[], data: OnnxTensor['data']): string {
    const name = this.fresh(base);
    this.inits.push({ name, dataType, dims, data });
    return name;
  }

  private floatInit(base: string, dims: readonly number[], data: Float32Array | readonly number[]): string {
    return this.init(base, DataType.FLOAT, dims, data instanceof Float32Array ? data : Float32Array.from(data));
  }

  private int64Init(base: string, values: readonly number[]): string {
    return this.init(base, DataType.INT64, [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  private emit(opType: string, base: string, inputs: readonly string[], attributes?: Record<string, AttributeValue>, outputName?: string): string {
    const out = outputName ?? this.fresh(base);
    if (outputName) this.used.add(outputName);
    this.nodes.push({ opType, name: this.fresh(`${base}/node`), inputs, outputs: [out], ...(attributes ? { attributes } : {}) });
    return out;
  }

  private constOf(name: string): TfConst | undefined {
    return this.folded.get(name) ?? (this.byName.get(name)?.op === 'Const' ? this.graph.consts.get(name) : undefined);
  }

  private needConst(node: TfNode, index: number): TfConst {
    const c = this.constOf(node.inputs[index] ?? '');
    if (!c) throw new UnsupportedOpError(`node ${node.name} (${node.op}): input ${index} must be a constant`);
    return c;
  }

  private val(name: string, consumer: TfNode): Val {
    const v = this.vals.get(name);
    if (!v) throw new UnsupportedOpError(`node ${consumer.name} (${consumer.op}) reads ${name}, which is not an activation the translator produced (a constant in an unsupported position?)`);
    return v;
  }

  /** `v` as NHWC-ordered data (a Transpose unless the permutation is a no-op in memory). */
  private toNhwcOrder(v: Val, base: string): string {
    if (!v.nchw) return v.name;
    const [, h, w, c] = v.shape as [number, number, number, number];
    if (h * w === 1 || c === 1) return v.name; // same memory order; callers reshape
    return this.emit('Transpose', `${base}/nhwc`, [v.name], { perm: { kind: 'ints', value: NCHW_TO_NHWC } });
  }

  /** A constant as an operand of an elementwise op whose other operand is `partner`. */
  private constOperand(c: TfConst, partner: Val, base: string): string {
    const data = c.data instanceof Float32Array ? c.data : Float32Array.from(c.data);
    if (data.length === 1) return this.floatInit(`${base}/scalar`, [], data);
    if (partner.nchw) {
      if (c.shape.length > 4) throw new UnsupportedOpError(`${base}: constant of rank ${c.shape.length} against an image`);
      const s4 = [...new Array<number>(4 - c.shape.length).fill(1), ...c.shape];
      const p = permute(data, s4, NHWC_TO_NCHW);
      return this.floatInit(`${base}/nchw`, p.shape, p.data);
    }
    return this.floatInit(base, c.shape, data);
  }

  translate(): TranslatedModel {
    const { inputWidth: W, inputHeight: H, inputRange } = this.spec;
    const order = this.reachableInOrder();
    // Input: uint8 RGB NHWC → float in the model's range → NCHW.
    const placeholders = order.filter((n) => n.op === 'Placeholder');
    if (placeholders.length !== 1) throw new UnsupportedOpError(`expected one input placeholder on the path to the outputs, found ${placeholders.length}`);
    const ph = placeholders[0]!;
    const phShape = ph.shape('shape');
    const fixed = (d: number, want: number) => this.spec.anyInputSize || d <= 0 || d === want;
    if (phShape.length !== 4 || phShape[3] !== 3 || !fixed(phShape[1]!, H) || !fixed(phShape[2]!, W)) {
      throw new GraphModelFormatError(`input ${ph.name} has shape [${phShape}], expected [1,${H},${W},3]`);
    }
    this.used.add(INPUT_NAME);
    let x = this.emit('Cast', 'input/float', [INPUT_NAME], { to: { kind: 'int', value: DataType.FLOAT } });
    const [lo, hi] = inputRange;
    const scale = (hi - lo) / 255;
    if (scale !== 1) x = this.emit('Mul', 'input/scale', [x, this.floatInit('input/scale/value', [], [scale])]);
    if (lo !== 0) x = this.emit('Add', 'input/offset', [x, this.floatInit('input/offset/value', [], [lo])]);
    x = this.emit('Transpose', 'input/nchw', [x], { perm: { kind: 'ints', value: NHWC_TO_NCHW } });
    this.vals.set(ph.name, { name: x, shape: [1, H, W, 3], nchw: true });

    for (const node of order) {
      if (node.op === 'Const' || node.op === 'Placeholder') continue;
      this.tfOps[node.op] = (this.tfOps[node.op] ?? 0) + 1;
      const folded = this.fold(node);
      if (folded) this.folded.set(node.name, folded);
      else this.vals.set(node.name, this.op(node));
    }

    const outputs: OnnxValueInfo[] = [];
    for (const o of this.spec.outputs) {
      const v = this.vals.get(o.node);
      if (!v) throw new GraphModelFormatError(`output node ${o.node} was not translated`);
      if (v.shape.length !== 4 || !v.nchw) throw new UnsupportedOpError(`output node ${o.node} is not an image tensor (shape [${v.shape}])`);
      let src = v.name;
      let c = v.shape[3]!;
      if (o.kind === 'softmax2-logit') {
        if (c !== 2) throw new GraphModelFormatError(`output node ${o.node} has ${c} channels, a two-class output needs 2`);
        const slice = (ch: number) => this.emit('Slice', `${o.name}/channel${ch}`, [src, this.int64Init(`${o.name}/s${ch}`, [ch]), this.int64Init(`${o.name}/e${ch}`, [ch + 1]), this.int64Init(`${o.name}/a${ch}`, [1])]);
        src = this.emit('Sub', `${o.name}/difference`, [slice(o.personChannel), slice(1 - o.personChannel)]);
        c = 1;
      }
      this.emit('Transpose', o.name, [src], { perm: { kind: 'ints', value: NCHW_TO_NHWC } }, o.name);
      outputs.push({ name: o.name, elemType: DataType.FLOAT, shape: ['batch', v.shape[1]!, v.shape[2]!, c] });
    }
    const bytes = encodeModel({
      producerName: 'maskstream',
      producerVersion: TRANSLATOR_VERSION,
      docString: 'Translated op by op from a TF.js graph model by maskstream (src/inference/onnx/translate.ts).',
      graphName: 'maskstream',
      nodes: this.nodes,
      initializers: this.inits,
      inputs: [{ name: INPUT_NAME, elemType: DataType.UINT8, shape: ['batch', H, W, 3] }],
      outputs,
      metadata: this.spec.metadata,
    });
    return { bytes, tfOps: { ...this.tfOps }, onnxNodes: this.nodes.length };
  }

  /** Nodes the outputs depend on, dependencies first. */
  private reachableInOrder(): TfNode[] {
    const order: TfNode[] = [];
    const state = new Map<string, 1 | 2>();
    const visit = (name: string): void => {
      const s = state.get(name);
      if (s === 2) return;
      if (s === 1) throw new GraphModelFormatError(`the graph has a cycle through ${name}`);
      const node = this.byName.get(name);
      if (!node && /:\d+$/.test(name)) throw new UnsupportedOpError(`${name} is a second output of a multi-output op; not supported`);
      if (!node) throw new GraphModelFormatError(`node ${name} is referenced but not defined`);
      state.set(name, 1);
      for (const i of node.inputs) visit(i);
      state.set(name, 2);
      order.push(node);
    };
    for (const o of this.spec.outputs) visit(o.node);
    return order;
  }

  /**
   * The node's value when it can be computed now: shape arithmetic (Shape of an activation with
   * its static shape, then StridedSlice, Pack, Cast and elementwise ops on constants). Batch is 1
   * in these values; they feed sizes (resizes), never a reshape of the batch.
   */
  private fold(node: TfNode): TfConst | undefined {
    if (node.op === 'Shape') {
      const v = this.vals.get(node.inputs[0]!);
      return v ? { shape: [v.shape.length], data: Int32Array.from(v.shape) } : undefined;
    }
    const ins = node.inputs.map((i) => this.constOf(i));
    if (ins.length === 0 || ins.some((c) => !c)) return undefined;
    const cs = ins as TfConst[];
    const like = (a: TfConst, values: number[], shape = a.shape): TfConst => ({ shape: [...shape], data: a.data instanceof Int32Array ? Int32Array.from(values) : Float32Array.from(values) });
    const f = FOLD[node.op];
    if (f && cs.length === 2) {
      const [a, b] = cs as [TfConst, TfConst];
      const n = Math.max(a.data.length, b.data.length);
      if ((a.data.length !== n && a.data.length !== 1) || (b.data.length !== n && b.data.length !== 1)) return undefined;
      const out = Array.from({ length: n }, (_, i) => f(a.data[a.data.length === 1 ? 0 : i]!, b.data[b.data.length === 1 ? 0 : i]!));
      return like(a.data.length === n ? a : b, out);
    }
    switch (node.op) {
      case 'Identity':
        return cs[0];
      case 'Cast': {
        const to = node.dtype('DstT');
        const v = Array.from(cs[0]!.data);
        return { shape: [...cs[0]!.shape], data: to === 'DT_FLOAT' ? Float32Array.from(v) : Int32Array.from(v, Math.trunc) };
      }
      case 'Pack': {
        if (node.int('axis', 0) !== 0 || cs.some((c) => c.data.length !== 1)) return undefined;
        return like(cs[0]!, cs.map((c) => c.data[0]!), [cs.length]);
      }
      case 'StridedSlice': {
        const [x, begin, end, strides] = cs as [TfConst, TfConst, TfConst, TfConst];
        if (x.shape.length !== 1 || begin.data.length !== 1 || node.int('ellipsis_mask', 0) || node.int('new_axis_mask', 0)) return undefined;
        const n = x.data.length;
        const s = strides.data[0]!;
        const norm = (i: number) => (i < 0 ? i + n : i);
        const b = node.int('begin_mask', 0) & 1 ? (s > 0 ? 0 : n - 1) : norm(begin.data[0]!);
        const e = node.int('end_mask', 0) & 1 ? (s > 0 ? n : -1) : norm(end.data[0]!);
        const out: number[] = [];
        for (let i = b; s > 0 ? i < e : i > e; i += s) out.push(x.data[i]!);
        if (node.int('shrink_axis_mask', 0) & 1) return like(x, [x.data[b]!], []);
        return like(x, out, [out.length]);
      }
      default:
        return undefined;
    }
  }

  private op(node: TfNode): Val {
    const base = node.name;
    if (node.has('data_format') && node.str('data_format') !== 'NHWC') throw new UnsupportedOpError(`node ${base}: data_format ${node.str('data_format')} (only NHWC)`);
    if (ELEMENTWISE[node.op]) return this.elementwise(node, ELEMENTWISE[node.op]!);
    if (UNARY[node.op]) {
      const v = this.val(node.inputs[0]!, node);
      return { ...v, name: this.emit(UNARY[node.op]!, base, [v.name]) };
    }
    switch (node.op) {
      case 'Cast': {
        // Activations are float already (the input is cast once, at the top).
        if (node.dtype('DstT') !== 'DT_FLOAT') throw new UnsupportedOpError(`node ${base}: Cast to ${node.dtype('DstT')}`);
        return this.val(node.inputs[0]!, node);
      }
      case '_FusedConv2D':
      case 'FusedDepthwiseConv2dNative':
        return this.fusedConv(node);
      case 'Relu6': {
        const v = this.val(node.inputs[0]!, node);
        return { ...v, name: this.emit('Clip', base, [v.name, this.floatInit(`${base}/min`, [], [0]), this.floatInit(`${base}/max`, [], [6])]) };
      }
      case 'AddN': {
        const vs = node.inputs.map((i) => this.val(i, node));
        const shape = vs.reduce<readonly number[]>((s, v) => broadcastShape(s, v.shape, base), vs[0]!.shape);
        if (vs.some((v) => v.nchw !== vs[0]!.nchw)) throw new UnsupportedOpError(`node ${base}: AddN over mixed layouts`);
        return { name: this.emit('Sum', base, vs.map((v) => v.name)), shape, nchw: vs[0]!.nchw };
      }
      case 'Conv2D':
        return this.conv(node, false);
      case 'DepthwiseConv2dNative':
        return this.conv(node, true);
      case 'Conv2DBackpropInput':
        return this.convTranspose(node);
      case 'AvgPool':
      case 'MaxPool':
        return this.pool(node);
      case 'Reshape':
        return this.reshape(node);
      case 'MatMul':
        return this.matMul(node);
      case 'ConcatV2':
        return this.concat(node);
      case 'ResizeBilinear':
      case 'ResizeNearestNeighbor':
        return this.resize(node);
      default:
        throw new UnsupportedOpError(`op ${node.op} (node ${base}) is not supported by the ONNX translator`);
    }
  }

  private elementwise(node: TfNode, onnxOp: string): Val {
    const [a, b] = node.inputs as [string, string];
    const ca = this.constOf(a);
    const cb = this.constOf(b);
    if (ca && cb) throw new UnsupportedOpError(`node ${node.name}: both operands are constants of shapes the translator does not fold`);
    if (ca || cb) {
      const v = this.val(ca ? b : a, node);
      const c = (ca ?? cb)!;
      const k = this.constOperand(c, v, `${node.name}/${ca ? 'a' : 'b'}`);
      const shape = broadcastShape(v.shape, c.shape, node.name);
      if (shape.length !== v.shape.length || shape.some((d, i) => d !== v.shape[i])) throw new UnsupportedOpError(`node ${node.name}: a constant that widens the activation's shape`);
      return { name: this.emit(onnxOp, node.name, ca ? [k, v.name] : [v.name, k]), shape, nchw: v.nchw };
    }
    const va = this.val(a, node);
    const vb = this.val(b, node);
    if (va.nchw !== vb.nchw || va.shape.length !== vb.shape.length) throw new UnsupportedOpError(`node ${node.name}: operands of different rank or layout ([${va.shape}] and [${vb.shape}])`);
    return { name: this.emit(onnxOp, node.name, [va.name, vb.name]), shape: broadcastShape(va.shape, vb.shape, node.name), nchw: va.nchw };
  }

  private conv(node: TfNode, depthwise: boolean, bias?: TfConst): Val {
    const x = this.val(node.inputs[0]!, node);
    const f = this.needConst(node, 1);
    if (!x.nchw || f.shape.length !== 4) throw new UnsupportedOpError(`node ${node.name}: convolution needs an image and a rank-4 filter`);
    const [kh, kw, ci, m] = f.shape as [number, number, number, number];
    if (x.shape[3] !== ci) throw new GraphModelFormatError(`node ${node.name}: input has ${x.shape[3]} channels, the filter expects ${ci}`);
    const strides = node.ints('strides', [1, 1, 1, 1]);
    const dil = node.ints('dilations', [1, 1, 1, 1]);
    const g = convGeometry(node, [x.shape[1]!, x.shape[2]!], [kh, kw], [strides[1]!, strides[2]!], [dil[1]!, dil[2]!]);
    const fd = f.data as Float32Array;
    // TF [kh, kw, ci, co] → ONNX [co, ci, kh, kw]; depthwise [kh, kw, ci, m] → [ci·m, 1, kh, kw]
    // (output channel c·m + j comes from input channel c, as in TF).
    const w = depthwise ? permute(fd, f.shape, [2, 3, 0, 1]) : permute(fd, f.shape, [3, 2, 0, 1]);
    const dims = depthwise ? [ci * m, 1, kh, kw] : w.shape;
    const wName = this.floatInit(`${node.name}/weights`, dims, w.data);
    const co = depthwise ? ci * m : m;
    if (bias && bias.data.length !== co) throw new GraphModelFormatError(`node ${node.name}: bias of ${bias.data.length} for ${co} channels`);
    const inputs = bias ? [x.name, wName, this.floatInit(`${node.name}/bias`, [co], bias.data instanceof Float32Array ? bias.data : Float32Array.from(bias.data))] : [x.name, wName];
    const name = this.emit('Conv', node.name, inputs, {
      kernel_shape: { kind: 'ints', value: [kh, kw] },
      strides: { kind: 'ints', value: [strides[1]!, strides[2]!] },
      dilations: { kind: 'ints', value: [dil[1]!, dil[2]!] },
      pads: { kind: 'ints', value: g.pads },
      group: { kind: 'int', value: depthwise ? ci : 1 },
    });
    return { name, shape: [1, g.out[0]!, g.out[1]!, co], nchw: true };
  }

  /** Grappler's fused convolution: conv, then BiasAdd (num_args 1), then an optional activation. */
  private fusedConv(node: TfNode): Val {
    const ops = node.strs('fused_ops');
    if (ops[0] !== 'BiasAdd' || node.int('num_args', 1) !== 1 || ops.length > 2 || (ops[1] && ops[1] !== 'Relu' && ops[1] !== 'Relu6')) {
      throw new UnsupportedOpError(`node ${node.name} (${node.op}): fused ops [${ops}] with ${node.int('num_args', 1)} argument(s) are not supported`);
    }
    // The bias goes into the ONNX Conv itself (its third input).
    const conv = this.conv(node, node.op === 'FusedDepthwiseConv2dNative', this.needConst(node, 2));
    if (!ops[1]) return conv;
    const act = ops[1] === 'Relu' ? this.emit('Relu', `${node.name}/relu`, [conv.name]) : this.emit('Clip', `${node.name}/relu6`, [conv.name, this.floatInit(`${node.name}/min`, [], [0]), this.floatInit(`${node.name}/max`, [], [6])]);
    return { ...conv, name: act };
  }

  private convTranspose(node: TfNode): Val {
    const sizes = this.needConst(node, 0);
    const f = this.needConst(node, 1);
    const x = this.val(node.inputs[2]!, node);
    const [kh, kw, co, ci] = f.shape as [number, number, number, number];
    if (x.shape[3] !== ci) throw new GraphModelFormatError(`node ${node.name}: input has ${x.shape[3]} channels, the filter expects ${ci}`);
    const out = Array.from(sizes.data);
    const strides = node.ints('strides', [1, 1, 1, 1]);
    const dil = node.ints('dilations', [1, 1, 1, 1]);
    const s = [strides[1]!, strides[2]!];
    const d = [dil[1]!, dil[2]!];
    // The forward convolution this is the gradient of maps out → x: its padding is TF's.
    const g = convGeometry(node, [out[1]!, out[2]!], [kh, kw], s, d);
    if (g.out[0] !== x.shape[1] || g.out[1] !== x.shape[2]) throw new GraphModelFormatError(`node ${node.name}: output size [${out}] does not map back to the input [${x.shape}]`);
    const outputPadding = [0, 1].map((i) => out[1 + i]! - (s[i]! * (x.shape[1 + i]! - 1) + (([kh, kw][i]! - 1) * d[i]! + 1) - g.pads[i]! - g.pads[2 + i]!));
    if (outputPadding.some((p, i) => p < 0 || p >= Math.max(s[i]!, d[i]!))) throw new UnsupportedOpError(`node ${node.name}: output padding [${outputPadding}] out of range`);
    // TF filter [kh, kw, out, in] → ONNX ConvTranspose [in, out, kh, kw].
    const w = permute(f.data as Float32Array, f.shape, [3, 2, 0, 1]);
    const name = this.emit('ConvTranspose', node.name, [x.name, this.floatInit(`${node.name}/weights`, w.shape, w.data)], {
      kernel_shape: { kind: 'ints', value: [kh, kw] },
      strides: { kind: 'ints', value: s },
      dilations: { kind: 'ints', value: d },
      pads: { kind: 'ints', value: g.pads },
      ...(outputPadding.some((p) => p) ? { output_padding: { kind: 'ints', value: outputPadding } } : {}),
    });
    return { name, shape: [1, out[1]!, out[2]!, co], nchw: true };
  }

  private pool(node: TfNode): Val {
    const x = this.val(node.inputs[0]!, node);
    const k = node.ints('ksize');
    const st = node.ints('strides');
    if (k[0] !== 1 || k[3] !== 1 || st[0] !== 1 || st[3] !== 1) throw new UnsupportedOpError(`node ${node.name}: pooling over batch or channels`);
    const g = convGeometry(node, [x.shape[1]!, x.shape[2]!], [k[1]!, k[2]!], [st[1]!, st[2]!], [1, 1]);
    const avg = node.op === 'AvgPool';
    const name = this.emit(avg ? 'AveragePool' : 'MaxPool', node.name, [x.name], {
      kernel_shape: { kind: 'ints', value: [k[1]!, k[2]!] },
      strides: { kind: 'ints', value: [st[1]!, st[2]!] },
      pads: { kind: 'ints', value: g.pads },
      // TF's SAME average leaves padding out of the count.
      ...(avg ? { count_include_pad: { kind: 'int', value: 0 } } : {}),
    });
    return { name, shape: [1, g.out[0]!, g.out[1]!, x.shape[3]!], nchw: true };
  }

  private reshape(node: TfNode): Val {
    const x = this.val(node.inputs[0]!, node);
    const target = Array.from(this.needConst(node, 1).data);
    const count = product(x.shape);
    const known = product(target.filter((d) => d !== -1));
    const resolved = target.map((d) => (d === -1 ? count / known : d));
    if (product(resolved) !== count || resolved.some((d) => !Number.isInteger(d))) throw new GraphModelFormatError(`node ${node.name}: cannot reshape [${x.shape}] to [${target}]`);
    if (resolved[0] !== 1 || x.shape[0] !== 1) throw new UnsupportedOpError(`node ${node.name}: a reshape that moves the batch dimension ([${x.shape}] → [${target}])`);
    const src = this.toNhwcOrder(x, node.name);
    if (resolved.length === 4) {
      const [, h, w, c] = resolved as [number, number, number, number];
      if (h * w === 1 || c === 1) {
        return { name: this.emit('Reshape', node.name, [src, this.int64Init(`${node.name}/shape`, [0, c, h, w])]), shape: resolved, nchw: true };
      }
      const r = this.emit('Reshape', `${node.name}/nhwc`, [src, this.int64Init(`${node.name}/shape`, [0, h, w, c])]);
      return { name: this.emit('Transpose', node.name, [r], { perm: { kind: 'ints', value: NHWC_TO_NCHW } }), shape: resolved, nchw: true };
    }
    return { name: this.emit('Reshape', node.name, [src, this.int64Init(`${node.name}/shape`, [0, ...resolved.slice(1)])]), shape: resolved, nchw: false };
  }

  private matMul(node: TfNode): Val {
    const a = this.val(node.inputs[0]!, node);
    if (a.nchw || a.shape.length !== 2) throw new UnsupportedOpError(`node ${node.name}: MatMul of a non-matrix [${a.shape}]`);
    if (node.bool('transpose_a')) throw new UnsupportedOpError(`node ${node.name}: MatMul with transpose_a`);
    const cb = this.constOf(node.inputs[1]!);
    if (!cb || cb.shape.length !== 2) throw new UnsupportedOpError(`node ${node.name}: MatMul needs a constant matrix as its second operand`);
    const b = node.bool('transpose_b') ? permute(cb.data as Float32Array, cb.shape, [1, 0]) : { data: cb.data as Float32Array, shape: [...cb.shape] };
    if (b.shape[0] !== a.shape[1]) throw new GraphModelFormatError(`node ${node.name}: [${a.shape}] × [${b.shape}]`);
    return { name: this.emit('MatMul', node.name, [a.name, this.floatInit(`${node.name}/matrix`, b.shape, b.data)]), shape: [a.shape[0]!, b.shape[1]!], nchw: false };
  }

  private concat(node: TfNode): Val {
    const axisConst = this.needConst(node, node.inputs.length - 1);
    const vs = node.inputs.slice(0, -1).map((i) => this.val(i, node));
    const rank = vs[0]!.shape.length;
    let axis = axisConst.data[0]!;
    if (axis < 0) axis += rank;
    if (vs.some((v) => v.nchw !== vs[0]!.nchw || v.shape.length !== rank)) throw new UnsupportedOpError(`node ${node.name}: concatenation over mixed layouts`);
    const shape = [...vs[0]!.shape];
    shape[axis] = vs.reduce((s, v) => s + v.shape[axis]!, 0);
    const onnxAxis = vs[0]!.nchw ? AXIS_NCHW[axis]! : axis;
    return { name: this.emit('Concat', node.name, vs.map((v) => v.name), { axis: { kind: 'int', value: onnxAxis } }), shape, nchw: vs[0]!.nchw };
  }

  private resize(node: TfNode): Val {
    const x = this.val(node.inputs[0]!, node);
    const size = Array.from(this.needConst(node, 1).data);
    if (!x.nchw || size.length !== 2) throw new UnsupportedOpError(`node ${node.name}: resize of [${x.shape}] to [${size}]`);
    const alignCorners = node.bool('align_corners');
    const halfPixel = node.bool('half_pixel_centers');
    const bilinear = node.op === 'ResizeBilinear';
    if (!bilinear && (alignCorners || !halfPixel)) throw new UnsupportedOpError(`node ${node.name}: nearest-neighbour resize is supported with half_pixel_centers only`);
    // sizes = [batch, C] of the input ++ [h, w]: exact, whatever the batch.
    const nc = this.emit('Shape', `${node.name}/nc`, [x.name], { start: { kind: 'int', value: 0 }, end: { kind: 'int', value: 2 } });
    const sizes = this.emit('Concat', `${node.name}/sizes`, [nc, this.int64Init(`${node.name}/hw`, size)], { axis: { kind: 'int', value: 0 } });
    const attrs: Record<string, AttributeValue> = bilinear
      ? { mode: { kind: 'string', value: 'linear' }, coordinate_transformation_mode: { kind: 'string', value: alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric' } }
      : // TF's half-pixel nearest is floor((x + 0.5)·scale) = round_prefer_ceil((x + 0.5)·scale − 0.5),
        // ONNX's half_pixel mapping with that rounding.
        { mode: { kind: 'string', value: 'nearest' }, coordinate_transformation_mode: { kind: 'string', value: 'half_pixel' }, nearest_mode: { kind: 'string', value: 'round_prefer_ceil' } };
    return { name: this.emit('Resize', node.name, [x.name, '', '', sizes], attrs), shape: [1, size[0]!, size[1]!, x.shape[3]!], nchw: true };
  }
}

/** Translates `graph` to an ONNX model with the spec's input and outputs. */
export function translateGraph(graph: TfGraph, spec: TranslateSpec): TranslatedModel {
  return new Translator(graph, spec).translate();
}
