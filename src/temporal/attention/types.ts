/**
 * Local attention read over a session's memory of recent frames — the contract shared by the
 * tensor-op implementation (every backend, GPU included) and the fused typed-array kernel
 * (the CPU backends, where per-op overhead and slow gathers dominate; see docs/temporal.md "Temporal
 * attention").
 *
 * Definition. Features live on a grid of h × w cells; the mask on H × W px with H = s·h and
 * W = s·w (s = the backbone's feature stride in mask pixels, 8 for meet and selfie). For every
 * cell p of the current frame, with query q_p (unit length):
 *   candidates  (n, p + δ) for every memory frame n < N and every δ in the (2R+1)² window,
 *               p + δ inside the grid;
 *   affinity    a = ⟨q_p, k_{n, p+δ}⟩ (cosine: keys are unit length too);
 *   top-k       the k candidates with the largest a, over all frames and offsets together
 *               (ties: lower frame index, then lower offset index, wins);
 *   weights     w = softmax(a / τ) over those k;
 *   per frame   mass m_n = Σ_{j: n_j = n} w_j and expected offset δ̄_n = Σ_{j: n_j = n} w_j·δ_j / m_n
 *               (continuous, in cells: the softmax interpolates between neighbouring matches);
 *   read        every pixel x of cell p takes Σ_n m_n · V_n(x + ⌊s·δ̄_n + ½⌋) (the memory frame's
 *               mask at the pixel its content came from, clamped to the image): the weighted sum
 *               of memory values at the attended positions, at the mask's full resolution, so
 *               boundaries are borrowed to the pixel rather than to the cell.
 * Also returned per cell: the top-1 affinity (how sure the match is) and the expected offset
 * length Σ_j w_j·|δ_j| in cells (a motion cue).
 * Empty windows: a cell whose whole window holds no foreground in any memory frame (every
 * memory value there ≤ EMPTY_VALUE) is not matched — its read, confidence and offset are 0.
 * The read would be ≤ EMPTY_VALUE anyway, so this only skips work: on a typical frame most
 * cells are background far from any person, and skipping them halves the cost.
 */

/** Memory values at or below this (probability) count as no foreground: 2/255. */
export const EMPTY_VALUE = 2 / 255;

export interface AttentionParams {
  /** Window radius, cells: candidates lie within ±radius cells of the query cell. */
  readonly radius: number;
  /** Candidates kept per query, over all memory frames together. */
  readonly topK: number;
  /** Softmax temperature on cosine affinities (lower = sharper). */
  readonly temperature: number;
}

export interface AttentionGeometry {
  /** Feature grid, cells. */
  readonly h: number;
  readonly w: number;
  /** Channels of queries and keys. */
  readonly c: number;
  /** Mask pixels per cell side. */
  readonly stride: number;
}

/** Plain arrays, row-major. Keys/values: memory frames stacked, oldest first. */
export interface AttentionInputs {
  /** [h, w, c], unit-length rows. */
  readonly query: Float32Array;
  /** [n, h, w, c], unit-length rows. */
  readonly keys: Float32Array;
  /** [n, H, W] mask values (probabilities, scaled by the caller's valueScale). */
  readonly values: Float32Array | Uint8Array;
  /** Memory frames n (≥ 1). */
  readonly frames: number;
}

export interface AttentionOutputs {
  /** [H, W] read. */
  readonly read: Float32Array;
  /** [h, w] top-1 affinity. */
  readonly confidence: Float32Array;
  /** [h, w] expected offset length, cells. */
  readonly motion: Float32Array;
}

export class AttentionConfigError extends Error {
  override readonly name = 'AttentionConfigError';
}

export function validateAttention(p: AttentionParams, g: AttentionGeometry): void {
  if (!Number.isInteger(p.radius) || p.radius < 0 || p.radius > 8) throw new AttentionConfigError(`attention radius must be an integer in [0, 8] cells, got ${p.radius}`);
  if (!Number.isInteger(p.topK) || p.topK < 1 || p.topK > 64) throw new AttentionConfigError(`attention topK must be an integer in [1, 64], got ${p.topK}`);
  if (!(p.temperature > 0 && p.temperature <= 10)) throw new AttentionConfigError(`attention temperature must be in (0, 10], got ${p.temperature}`);
  for (const [k, v] of Object.entries(g)) if (!Number.isInteger(v) || v < 1) throw new AttentionConfigError(`attention geometry ${k} must be a positive integer, got ${v}`);
}
