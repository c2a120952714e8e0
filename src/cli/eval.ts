/**
 * `maskstream eval --pred dir/ --gt dir/`: J, F, TE and dtSSD of a predicted mask sequence
 * against ground truth, both directories of PNGs matched by file name. Frames are read one
 * pair at a time (SequenceEvaluator keeps only the previous pair), so long clips fit in memory.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { readGrayPng } from '../io/png.js';
import { SequenceEvaluator, type SequenceMetrics } from '../quality/metrics.js';
import { formatHelp, parseFlags, type FlagSpec } from './flags.js';
import type { CliIo } from './segment.js';

export class EvalInputError extends Error {
  override readonly name = 'EvalInputError';
}

/** Numeric-aware order, so 9.png < 10.png and 000009.png < 000010.png alike. */
const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** PNG file names in dir, sorted. `flag` names the directory in messages. */
export async function listPngs(dir: string, flag: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new EvalInputError(`cannot read ${flag} directory ${dir}: ${err.code === 'ENOENT' ? 'no such directory' : err.code === 'ENOTDIR' ? 'not a directory' : err.message}`);
  }
  const pngs = names.filter((n) => n.toLowerCase().endsWith('.png')).sort(byName);
  if (pngs.length === 0) throw new EvalInputError(`${flag} directory ${dir} has no .png files`);
  return pngs;
}

/** Pairs the two listings by name; EvalInputError naming the first file present in only one. Pure. */
export function matchNames(pred: readonly string[], gt: readonly string[], predDir: string, gtDir: string): string[] {
  const inGt = new Set(gt);
  const inPred = new Set(pred);
  const onlyPred = pred.find((n) => !inGt.has(n));
  const onlyGt = gt.find((n) => !inPred.has(n));
  if (onlyPred !== undefined || onlyGt !== undefined) {
    // Name the mismatch that comes first in frame order.
    const first = onlyGt === undefined || (onlyPred !== undefined && byName(onlyPred, onlyGt) <= 0) ? { name: onlyPred!, dir: predDir } : { name: onlyGt, dir: gtDir };
    throw new EvalInputError(`--pred and --gt do not match: ${first.name} is only in ${first.dir} (--pred has ${pred.length} PNGs, --gt ${gt.length})`);
  }
  return [...pred];
}

export interface EvalOptions {
  readonly pred: string;
  readonly gt: string;
}

/** Reads both sequences and evaluates them. */
export async function evaluateDirs(o: EvalOptions): Promise<SequenceMetrics> {
  const names = matchNames(await listPngs(o.pred, '--pred'), await listPngs(o.gt, '--gt'), o.pred, o.gt);
  let ev: SequenceEvaluator | null = null;
  for (const name of names) {
    const p = await readGrayPng(path.join(o.pred, name));
    const g = await readGrayPng(path.join(o.gt, name));
    if (p.width !== g.width || p.height !== g.height) {
      throw new EvalInputError(`${name}: prediction is ${p.width}×${p.height}, ground truth ${g.width}×${g.height} (every pair must have the same size)`);
    }
    ev ??= new SequenceEvaluator(p.width, p.height);
    if (p.width !== ev.width || p.height !== ev.height) {
      throw new EvalInputError(`${name} is ${p.width}×${p.height}, but ${names[0]} is ${ev.width}×${ev.height} (every frame must have the same size)`);
    }
    ev.add(p.data, g.data);
  }
  return ev!.result();
}

/** The stdout table: one aligned row per metric. Pure. */
export function formatMetricsTable(m: SequenceMetrics): string {
  const rows: [string, string, string][] = [
    ['frames', String(m.frames), `${m.width}×${m.height}`],
    ['J', m.J.toFixed(4), 'region IoU, mean over frames (higher is better)'],
    ['F', m.F.toFixed(4), `boundary F-measure, ${m.boundaryTolerancePx} px tolerance (higher is better)`],
    ['TE', m.TE.toFixed(4), 'temporal error, share of pixels flipping unlike the truth (lower is better)'],
    ['dtSSD', m.dtSSD.toFixed(4), 'temporal alpha difference ×100 (lower is better)'],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([k, v, note]) => `${k.padEnd(w0)}  ${v.padStart(w1)}  ${note}`).join('\n') + '\n';
}

const EVAL_FLAGS: readonly FlagSpec[] = [
  { name: 'pred', kind: 'string', required: true, help: 'directory of predicted 8-bit mask PNGs (e.g. the output of maskstream segment)' },
  { name: 'gt', kind: 'string', required: true, help: 'directory of ground-truth PNGs with the same file names (value ≥ 128 = person)' },
  { name: 'json', kind: 'boolean', help: 'print JSON (with per-frame J and F) instead of the table' },
  { name: 'help', kind: 'boolean', help: 'print this help' },
];

export const EVAL_USAGE = 'maskstream eval --pred dir/ --gt dir/ [--json]';

/** `maskstream eval …`: the table (or JSON) on stdout. */
export async function runEval(argv: readonly string[], io: CliIo): Promise<void> {
  const { values, booleans } = parseFlags('eval', argv, EVAL_FLAGS);
  if (booleans.has('help')) {
    io.stdout(formatHelp(EVAL_USAGE, EVAL_FLAGS) + '\n');
    return;
  }
  const m = await evaluateDirs({ pred: values.get('pred')!, gt: values.get('gt')! });
  io.stdout(booleans.has('json') ? JSON.stringify(m) + '\n' : formatMetricsTable(m));
}
