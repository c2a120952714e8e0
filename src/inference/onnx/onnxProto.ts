/**
 * ONNX model structures (the subset a translated CNN uses) and their protobuf encoding.
 * Field numbers are those of onnx/onnx.proto (IR version 8, which opset 17 requires).
 */
import { ProtoWriter } from './protobuf.js';

/** TensorProto.DataType values used here. */
export const DataType = Object.freeze({ FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7 });
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export const IR_VERSION = 8;
export const OPSET = 17;

export interface OnnxTensor {
  readonly name: string;
  readonly dataType: DataTypeCode;
  readonly dims: readonly number[];
  /** FLOAT: Float32Array; INT64: BigInt64Array; INT32: Int32Array; UINT8: Uint8Array. */
  readonly data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

export type AttributeValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] };

export interface OnnxNode {
  readonly opType: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

/** A graph input or output: element type and shape, a string dim being symbolic (e.g. "batch"). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly elemType: DataTypeCode;
  readonly shape: readonly (number | string)[];
}

export interface OnnxModel {
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString: string;
  readonly graphName: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  /** ModelProto.metadata_props, in this order. */
  readonly metadata: readonly (readonly [string, string])[];
}

// AttributeProto.AttributeType
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  w.packedInts(1, t.dims); // dims
  w.int(2, t.dataType); // data_type
  w.string(8, t.name); // name
  // raw_data: little-endian bytes of the element type (x86/ARM are little-endian; checked).
  const d = t.data;
  w.bytes(9, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
}

function writeAttribute(w: ProtoWriter, name: string, a: AttributeValue): void {
  w.string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value).int(20, ATTR.FLOAT);
      break;
    case 'int':
      w.int(3, a.value).int(20, ATTR.INT);
      break;
    case 'string':
      w.string(4, a.value).int(20, ATTR.STRING);
      break;
    case 'floats':
      w.packedFloats(7, a.value).int(20, ATTR.FLOATS);
      break;
    case 'ints':
      w.packedInts(8, a.value).int(20, ATTR.INTS);
      break;
  }
}

function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) w.message(5, (aw) => writeAttribute(aw, k, v));
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType);
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Serialises `m` as an ONNX ModelProto. */
export function encodeModel(m: OnnxModel): Uint8Array {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('ONNX raw_data is little-endian; this machine is not');
  const w = new ProtoWriter();
  w.int(1, IR_VERSION);
  w.string(2, m.producerName);
  w.string(3, m.producerVersion);
  w.string(6, m.docString);
  w.message(7, (g) => {
    for (const n of m.nodes) g.message(1, (nw) => writeNode(nw, n));
    g.string(2, m.graphName);
    for (const t of m.initializers) g.message(5, (tw) => writeTensor(tw, t));
    for (const i of m.inputs) g.message(11, (vw) => writeValueInfo(vw, i));
    for (const o of m.outputs) g.message(12, (vw) => writeValueInfo(vw, o));
  });
  w.message(8, (o) => o.string(1, '').int(2, OPSET));
  for (const [k, v] of m.metadata) w.message(14, (e) => e.string(1, k).string(2, v));
  return w.finish();
}
