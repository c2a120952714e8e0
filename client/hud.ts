/**
 * The heads-up display: rates, the server's per-stage latency, end-to-end latency and how
 * well masks line up with frames. Redrawn a few times a second (not per frame), into
 * elements tagged data-hud="<key>" so tests can read single values.
 */

import type { MaskTimings } from '../src/shared/maskCodec.js';

export interface HudSnapshot {
  readonly state: string;
  readonly backend?: string;
  /** What runs the backend, e.g. "onnxruntime-node 1.30.0 CPUExecutionProvider, 1 thread". */
  readonly provider?: string;
  readonly model?: string;
  readonly maskSize?: string;
  readonly codec?: string;
  readonly mapping: string;
  readonly cameraFps: number;
  readonly maskFps: number;
  /** Mean over the last second, ms. */
  readonly timings?: MaskTimings;
  /** Capture → mask received, mean over the last second, ms. */
  readonly e2eMs?: number;
  /** Shown frame vs. its mask's source frame, mean over the last second, ms. */
  readonly misalignmentMs?: number;
  readonly displayDelayMs?: number;
  readonly matched: number;
  readonly unmatched: number;
  readonly droppedFrames?: number;
}

type Row = readonly [key: string, label: string];

const GROUPS: readonly (readonly [string, readonly Row[]])[] = [
  ['Session', [['state', 'state'], ['backend', 'backend'], ['provider', 'provider'], ['model', 'model'], ['maskSize', 'mask'], ['codec', 'codec'], ['mapping', 'rtp → capture']]],
  ['Rates', [['cameraFps', 'camera'], ['maskFps', 'masks']]],
  ['Server latency (mean 1 s)', [
    ['receive', 'receive'], ['decode', 'decode'], ['preprocess', 'preprocess'], ['inference', 'inference'],
    ['temporal', 'temporal'], ['encode', 'encode'], ['server', 'server total'],
  ]],
  ['End to end', [['e2e', 'capture → mask'], ['delay', 'display delay'], ['misalignment', 'misalignment'], ['matched', 'matched'], ['dropped', 'dropped frames']]],
];

const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(1)} ms`);
const fps = (v: number) => `${v.toFixed(1)} /s`;

export class Hud {
  private readonly cells = new Map<string, HTMLElement>();

  constructor(root: HTMLElement) {
    root.replaceChildren();
    for (const [title, rows] of GROUPS) {
      const section = document.createElement('section');
      const h = document.createElement('h2');
      h.textContent = title;
      const dl = document.createElement('dl');
      for (const [key, label] of rows) {
        const dt = document.createElement('dt');
        dt.textContent = label;
        const dd = document.createElement('dd');
        dd.dataset.hud = key;
        dd.textContent = '–';
        dl.append(dt, dd);
        this.cells.set(key, dd);
      }
      section.append(h, dl);
      root.append(section);
    }
  }

  /** Only the state row (before a run has numbers, or when it failed). */
  setState(state: string): void {
    const cell = this.cells.get('state');
    if (cell && cell.textContent !== state) cell.textContent = state;
  }

  update(s: HudSnapshot): void {
    const total = s.matched + s.unmatched;
    const t = s.timings;
    const values: Record<string, string> = {
      state: s.state,
      backend: s.backend ?? '–',
      provider: s.provider ?? '–',
      model: s.model ?? '–',
      maskSize: s.maskSize ?? '–',
      codec: s.codec ?? '–',
      mapping: s.mapping,
      cameraFps: fps(s.cameraFps),
      maskFps: fps(s.maskFps),
      receive: ms(t?.receiveMs),
      decode: ms(t?.decodeMs),
      preprocess: ms(t?.preprocessMs),
      inference: ms(t?.inferenceMs),
      temporal: ms(t?.temporalMs),
      encode: ms(t?.encodeMs),
      server: ms(t?.serverMs),
      e2e: ms(s.e2eMs),
      delay: ms(s.displayDelayMs),
      misalignment: ms(s.misalignmentMs),
      matched: total === 0 ? '–' : `${((100 * s.matched) / total).toFixed(1)} % of ${total}`,
      dropped: s.droppedFrames === undefined ? '–' : String(s.droppedFrames),
    };
    for (const [k, v] of Object.entries(values)) {
      const cell = this.cells.get(k);
      if (cell && cell.textContent !== v) cell.textContent = v;
    }
  }
}
