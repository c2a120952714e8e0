/**
 * The TF.js → ONNX translator's parts: the protobuf writer against known encodings, the
 * constant permutations, clear errors for what it does not support, and a synthetic TF.js
 * graph using the ops meet and selfie do not (odd sizes, VALID/SAME/strided padding, max
 * pooling, nearest resize, elementwise ops with constants on either side) run by TF.js and by
 * ONNX Runtime on the same random input.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { ProtoWriter } from '../../../src/inference/onnx/protobuf.js';
import { permute, translateGraph, UnsupportedOpError, type TranslateSpec } from '../../../src/inference/onnx/translate.js';
import { readGraphModel, GraphModelFormatError, type GraphModelJson, type WeightSpec } from '../../../src/inference/onnx/tfjsGraph.js';
import { OrtSession } from '../../../src/inference/onnx/ortSession.js';
import { selectBackend } from '../../../src/inference/backend.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ints = (...v: number[]) => ({ list: { i: v.map(String) } });

/** A TF.js graph model built by hand: nodes, and float32/int32 constants stored as weights. */
class GraphBuilder {
  readonly nodes: object[] = [];
  readonly specs: WeightSpec[] = [];
  private readonly chunks: Uint8Array[] = [];
  private seed = 1;

  input(name: string, shape: number[]): string {
    this.nodes.push({ name, op: 'Placeholder', attr: { shape: { shape: { dim: shape.map((s) => ({ size: String(s) })) } }, dtype: { type: 'DT_FLOAT' } } });
    return name;
  }

  random(n: number, scale: number): number[] {
    return Array.from({ length: n }, () => ((this.seed = (Math.imul(this.seed, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 2 * scale);
  }

  const(name: string, shape: number[], values: number[], dtype: 'float32' | 'int32' = 'float32'): string {
    this.nodes.push({ name, op: 'Const', attr: { dtype: { type: dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32' } } });
    this.specs.push({ name, shape, dtype });
    this.chunks.push(new Uint8Array((dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values)).buffer));
    return name;
  }

  op(name: string, op: string, input: string[], attr: Record<string, unknown> = {}): string {
    // Variadic ops carry their operand count, as TF writes it (tfjs reads it).
    const n = op === 'ConcatV2' ? input.length - 1 : op === 'AddN' ? input.length : 0;
    this.nodes.push({ name, op, input, attr: n ? { ...attr, N: { i: String(n) } } : attr });
    return name;
  }

  json(): GraphModelJson {
    return { format: 'graph-model', modelTopology: { node: this.nodes as never, versions: { producer: 1 } } as never, weightsManifest: [{ paths: ['w.bin'], weights: this.specs }] };
  }

  weights(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

describe('inference/onnx protobuf writer', () => {
  it('writes varints, negative int64s, floats, strings and packed fields as protobuf specifies', () => {
    const hex = (w: ProtoWriter) => Buffer.from(w.finish()).toString('hex');
    expect(hex(new ProtoWriter().int(1, 150))).to.equal('089601'); // the protobuf docs' example
    expect(hex(new ProtoWriter().int(2, -1))).to.equal('10ffffffffffffffffff01'); // two's complement, 10 bytes
    expect(hex(new ProtoWriter().float(2, 1))).to.equal('150000803f');
    expect(hex(new ProtoWriter().string(4, 'Relu'))).to.equal('220452656c75');
    expect(hex(new ProtoWriter().packedInts(1, [3, 270]))).to.equal('0a03038e02');
    expect(hex(new ProtoWriter().message(7, (m) => m.int(1, 1)))).to.equal('3a020801');
    expect(() => new ProtoWriter().int(1, 1.5)).to.throw(RangeError);
  });
});

describe('inference/onnx permute', () => {
  it('moves axes: out axis i is in axis perm[i]', () => {
    // [2, 3] → transpose
    const { data, shape } = permute(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], [1, 0]);
    expect(shape).to.deep.equal([3, 2]);
    expect(Array.from(data)).to.deep.equal([1, 4, 2, 5, 3, 6]);
    // NHWC [1, 1, 2, 3] → NCHW [1, 3, 1, 2]
    const n = permute(Float32Array.from([0, 1, 2, 10, 11, 12]), [1, 1, 2, 3], [0, 3, 1, 2]);
    expect(n.shape).to.deep.equal([1, 3, 1, 2]);
    expect(Array.from(n.data)).to.deep.equal([0, 10, 1, 11, 2, 12]);
  });
});

describe('inference/onnx translateGraph on a synthetic graph', function () {
  this.timeout(60_000);
  const H = 13;
  const W = 22;

  function build(): GraphBuilder {
    const g = new GraphBuilder();
    const x = g.input('x', [1, H, W, 3]);
    const same = b64('SAME');
    const valid = b64('VALID');
    const nhwc = { s: b64('NHWC') };
    // Strided SAME conv on odd sizes (asymmetric padding), bias, relu6.
    let y = g.op('conv', 'Conv2D', [x, g.const('conv/f', [3, 3, 3, 8], g.random(3 * 3 * 3 * 8, 0.5))], { strides: ints(1, 2, 2, 1), padding: { s: same }, dilations: ints(1, 1, 1, 1), data_format: nhwc });
    y = g.op('bias', 'BiasAdd', [y, g.const('bias/b', [8], g.random(8, 0.2))], { data_format: nhwc });
    y = g.op('relu6', 'Relu6', [y]);
    // Depthwise VALID with a channel multiplier, then a dilated conv.
    y = g.op('dw', 'DepthwiseConv2dNative', [y, g.const('dw/f', [3, 3, 8, 2], g.random(3 * 3 * 8 * 2, 0.5))], { strides: ints(1, 1, 1, 1), padding: { s: valid }, dilations: ints(1, 1, 1, 1), data_format: nhwc });
    y = g.op('dil', 'Conv2D', [y, g.const('dil/f', [3, 3, 16, 6], g.random(3 * 3 * 16 * 6, 0.3))], { strides: ints(1, 1, 1, 1), padding: { s: same }, dilations: ints(1, 2, 2, 1), data_format: nhwc });
    // Constants on either side of elementwise ops, a per-channel vector and a [1,1,1,C] one.
    y = g.op('sub', 'Sub', [g.const('sub/a', [6], g.random(6, 1)), y]);
    y = g.op('tanh', 'Tanh', [y]);
    y = g.op('max', 'Maximum', [y, g.const('max/b', [1, 1, 1, 6], g.random(6, 0.3))]);
    y = g.op('min', 'Minimum', [y, g.const('min/b', [], [0.6])]);
    y = g.op('div', 'RealDiv', [y, g.const('div/b', [6], [1, 2, 3, 4, 5, 6])]);
    // Pools: max SAME strided on an odd size, average SAME (padding left out of the count).
    const mp = g.op('mp', 'MaxPool', [y], { ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1), padding: { s: same }, data_format: nhwc });
    const ap = g.op('ap', 'AvgPool', [y], { ksize: ints(1, 3, 3, 1), strides: ints(1, 1, 1, 1), padding: { s: same }, data_format: nhwc });
    // Nearest (half-pixel) and bilinear (align corners, and neither) resizes to a common size.
    const size = g.const('size', [2], [7, 11], 'int32');
    const up1 = g.op('nn', 'ResizeNearestNeighbor', [mp, size], { align_corners: { b: false }, half_pixel_centers: { b: true } });
    const up2 = g.op('bl', 'ResizeBilinear', [ap, size], { align_corners: { b: true }, half_pixel_centers: { b: false } });
    const up3 = g.op('bl2', 'ResizeBilinear', [ap, size], { align_corners: { b: false }, half_pixel_centers: { b: false } });
    let z = g.op('cat', 'ConcatV2', [up1, up2, up3, g.const('cat/axis', [], [-1], 'int32')]);
    z = g.op('sum', 'AddN', [z, g.op('neg', 'Neg', [z])]);
    z = g.op('exp', 'Exp', [g.op('add', 'AddV2', [z, g.op('cat2', 'ConcatV2', [up3, up2, up1, g.const('cat2/axis', [], [3], 'int32')])])]);
    z = g.op('id', 'Identity', [z]);
    // Transposed conv, stride 2, to an odd output size (output padding 1).
    const out = g.op('up', 'Conv2DBackpropInput', [g.const('up/sizes', [4], [1, 14, 23, 2], 'int32'), g.const('up/f', [2, 2, 2, 18], g.random(2 * 2 * 2 * 18, 0.3)), z], { strides: ints(1, 2, 2, 1), padding: { s: valid }, dilations: ints(1, 1, 1, 1), data_format: nhwc });
    // A squeeze-excite-like branch: global average, reshape to a matrix, matmul, back to [1,1,1,C].
    const gap = g.op('gap', 'AvgPool', [z], { ksize: ints(1, 7, 11, 1), strides: ints(1, 7, 11, 1), padding: { s: valid }, data_format: nhwc });
    let se = g.op('se/r', 'Reshape', [gap, g.const('se/r/shape', [2], [1, 18], 'int32')]);
    se = g.op('se/mm', 'MatMul', [se, g.const('se/k', [4, 18], g.random(72, 0.3))], { transpose_a: { b: false }, transpose_b: { b: true } });
    se = g.op('se/sig', 'Sigmoid', [se]);
    se = g.op('se/r2', 'Reshape', [se, g.const('se/r2/shape', [4], [1, 1, 1, 4], 'int32')]);
    g.op('feat', 'Mul', [g.op('feat/relu', 'Relu', [g.op('feat/conv', 'Conv2D', [z, g.const('feat/f', [1, 1, 18, 4], g.random(72, 0.4))], { strides: ints(1, 1, 1, 1), padding: { s: valid }, dilations: ints(1, 1, 1, 1), data_format: nhwc })]), se]);
    g.op('out', 'Identity', [out]);
    return g;
  }

  const spec: TranslateSpec = {
    inputWidth: W,
    inputHeight: H,
    inputRange: [-1, 1],
    outputs: [
      { name: 'logits', node: 'out', kind: 'softmax2-logit', personChannel: 1 },
      { name: 'features', node: 'feat', kind: 'as-is' },
    ],
    metadata: [['test', 'synthetic']],
  };

  it('gives what TF.js gives, at batch 1 and batch 3', async () => {
    await selectBackend('wasm');
    const g = build();
    const graph = readGraphModel(g.json(), g.weights());
    const onnx = translateGraph(graph, spec);
    const session = OrtSession.create(onnx.bytes, { provider: 'cpu', threads: 1 });
    const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: g.json().modelTopology, weightSpecs: g.specs as tf.io.WeightsManifestEntry[], weightData: g.weights().slice().buffer }));
    try {
      const n = 3;
      const rgb = Uint8Array.from({ length: n * H * W * 3 }, (_, i) => (i * 37 + ((i * i) % 251)) & 255);
      const out = session.run({ rgb: { type: 'uint8', data: rgb, dims: [n, H, W, 3] } });
      expect(out['logits']!.dims).to.deep.equal([n, 14, 23, 1]);
      expect(out['features']!.dims).to.deep.equal([n, 7, 11, 4]);
      for (let i = 0; i < n; i++) {
        const frame = rgb.subarray(i * H * W * 3, (i + 1) * H * W * 3);
        const [seg, feat] = tf.tidy(() => {
          const x = tf.tensor4d(Float32Array.from(frame, (v) => (v * 2) / 255 - 1), [1, H, W, 3]);
          const [o, f] = model.execute(x, ['out', 'feat']) as tf.Tensor[];
          const l = tf.sub(tf.slice(o!, [0, 0, 0, 1], [1, 14, 23, 1]), tf.slice(o!, [0, 0, 0, 0], [1, 14, 23, 1]));
          return [l.dataSync().slice(), f!.dataSync().slice()];
        });
        const lo = out['logits']!.data.subarray(i * 14 * 23, (i + 1) * 14 * 23);
        const fo = out['features']!.data.subarray(i * 7 * 11 * 4, (i + 1) * 7 * 11 * 4);
        let dl = 0;
        let df = 0;
        let spread = 0;
        for (let j = 0; j < seg!.length; j++) {
          dl = Math.max(dl, Math.abs(seg![j]! - lo[j]!));
          spread = Math.max(spread, Math.abs(seg![j]! - seg![0]!));
        }
        for (let j = 0; j < feat!.length; j++) df = Math.max(df, Math.abs(feat![j]! - fo[j]!));
        expect(spread, 'the output varies (the comparison means something)').to.be.greaterThan(0.1);
        expect(dl, `frame ${i} logits`).to.be.below(1e-4);
        expect(df, `frame ${i} features`).to.be.below(1e-4);
      }
    } finally {
      session.dispose();
      model.dispose();
    }
  });

  it('names an op it does not support, and a constant it cannot place', () => {
    const g = build();
    (g.nodes.find((n) => (n as { name: string }).name === 'tanh') as { op: string }).op = 'Atan2';
    expect(() => translateGraph(readGraphModel(g.json(), g.weights()), spec)).to.throw(UnsupportedOpError, /op Atan2 \(node tanh\) is not supported/);
    const h = new GraphBuilder();
    const x = h.input('x', [1, H, W, 3]);
    h.op('out', 'Add', [x, h.const('five', [2, 1, 1, 1, 3], [1, 2, 3, 4, 5, 6])]);
    expect(() => translateGraph(readGraphModel(h.json(), h.weights()), { ...spec, outputs: [{ name: 'logits', node: 'out', kind: 'as-is' }] })).to.throw(UnsupportedOpError, /constant of rank 5/);
  });

  it('folds shape arithmetic on constants and static shapes (Shape, StridedSlice, Mul, Pack, Cast) into the graph', () => {
    const h = new GraphBuilder();
    const x = h.input('x', [1, H, W, 3]);
    // size = Shape(x)[1:3] × 2 → a resize to twice the input, as Keras' UpSampling2D writes it.
    const shape = h.op('shape', 'Shape', [x]);
    const hw = h.op('hw', 'StridedSlice', [shape, h.const('b', [1], [1], 'int32'), h.const('e', [1], [3], 'int32'), h.const('s', [1], [1], 'int32')], { begin_mask: { i: '0' }, end_mask: { i: '0' }, shrink_axis_mask: { i: '0' }, ellipsis_mask: { i: '0' }, new_axis_mask: { i: '0' } });
    const size = h.op('size', 'Mul', [hw, h.const('two', [2], [2, 2], 'int32')]);
    const three = h.op('three', 'Cast', [h.op('sum', 'AddV2', [h.const('one', [], [1], 'int32'), h.const('onemore', [], [2], 'int32')])], { DstT: { type: 'DT_FLOAT' } });
    h.op('out', 'ResizeBilinear', [h.op('plus', 'AddV2', [x, three]), size], { align_corners: { b: false }, half_pixel_centers: { b: true } });
    const t = translateGraph(readGraphModel(h.json(), h.weights()), { ...spec, outputs: [{ name: 'logits', node: 'out', kind: 'as-is' }] });
    const s = OrtSession.create(t.bytes, { provider: 'cpu', threads: 1 });
    try {
      const out = s.run({ rgb: { type: 'uint8', data: new Uint8Array(H * W * 3).fill(255), dims: [1, H, W, 3] } })['logits']!;
      // Input 255 → 1 (range [−1, 1]), + 3, resized to 2H × 2W: 4 everywhere.
      expect(out.dims).to.deep.equal([1, 2 * H, 2 * W, 3]);
      expect(Math.min(...out.data)).to.be.closeTo(4, 1e-5);
      expect(Math.max(...out.data)).to.be.closeTo(4, 1e-5);
    } finally {
      s.dispose();
    }
  });

  it('refuses weights that do not match their manifest', () => {
    const g = build();
    expect(() => readGraphModel(g.json(), g.weights().subarray(4))).to.throw(GraphModelFormatError, /describes \d+ bytes, the weights file has \d+/);
  });
});
