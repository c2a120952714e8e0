/**
 * The affinity loop of the fused attention kernel in WebAssembly SIMD (affinity.wat): for every
 * active query cell, its cosine affinity with every candidate memory cell, in the kernel's
 * candidate order. Four f32 lanes per instruction instead of one double: the read's dot
 * products cost ~4× less than in JavaScript (measured in docs/temporal.md).
 * One instance per kernel (it owns its WebAssembly memory, grown on demand); not shared
 * between threads.
 */
import { AFFINITY_WASM_BASE64 } from './affinityWasm.js';

interface Exports {
  readonly memory: WebAssembly.Memory;
  affinities(q: number, k: number, active: number, out: number, h: number, w: number, c: number, n: number, r: number): number;
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is not available. */
function module(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = new WebAssembly.Module(Buffer.from(AFFINITY_WASM_BASE64, 'base64'));
  } catch {
    compiled = null;
  }
  return compiled;
}

const PAGE = 65536;

export class WasmAffinity {
  private constructor(private readonly ex: Exports) {}

  /** A new instance, or undefined where WebAssembly SIMD is unavailable (the kernel then stays in JavaScript). */
  static create(): WasmAffinity | undefined {
    const m = module();
    if (!m) return undefined;
    return new WasmAffinity(new WebAssembly.Instance(m).exports as unknown as Exports);
  }

  /**
   * Affinities of the active cells (see affinity.wat); returns a view valid until the next
   * call. `c` must be a multiple of 4.
   */
  run(query: Float32Array, keys: Float32Array, active: Uint8Array, h: number, w: number, c: number, frames: number, radius: number): Float32Array {
    if (c % 4 !== 0) throw new RangeError(`wasm affinities need channels in multiples of 4, got ${c}`);
    const P = h * w;
    const qBytes = P * c * 4;
    const kBytes = frames * P * c * 4;
    const aOff = qBytes + kBytes;
    const outOff = Math.ceil((aOff + P) / 16) * 16;
    const side = 2 * radius + 1;
    const need = outOff + P * frames * side * side * 4;
    const mem = this.ex.memory;
    if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / PAGE));
    const buf = mem.buffer;
    new Float32Array(buf, 0, P * c).set(query.subarray(0, P * c));
    new Float32Array(buf, qBytes, frames * P * c).set(keys.subarray(0, frames * P * c));
    new Uint8Array(buf, aOff, P).set(active.subarray(0, P));
    const count = this.ex.affinities(0, qBytes, aOff, outOff, h, w, c, frames, radius);
    return new Float32Array(buf, outOff, count);
  }
}
