/**
 * The multi-person part of `npm run bench:quality`: tables over the clips of kind 'multi'
 * (src/quality/clips/multiClips.ts), scored per person (src/quality/personMetrics.ts) beside
 * J, F and TE of the combined mask. Pure: results in, Markdown lines out.
 */
import { poolClips, worstLatency, type PeopleMetrics } from '../quality/personMetrics.js';
import { fmt } from './stats.js';

/** What the tables read of a variant's result (quality.ts's VariantResult fits). */
export interface MultiVariantResult {
  readonly variant: { readonly name: string };
  readonly clips: readonly { readonly clip: string; readonly kind: string; readonly J: number; readonly F: number; readonly TE: number; readonly people?: PeopleMetrics }[];
}

type ClipRow = MultiVariantResult['clips'][number] & { readonly people: PeopleMetrics };

function multiClips(r: MultiVariantResult): ClipRow[] {
  return r.clips.filter((c): c is ClipRow => c.kind === 'multi' && c.people !== undefined);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Entering latency for a table cell: frames, "never", or "–" when no one enters. */
export function latencyCell(latencies: readonly (number | null)[]): string {
  const w = worstLatency(latencies);
  if (w === undefined) return '–';
  const all = latencies.map((l) => (l === null ? 'never' : String(l))).join(', ');
  return latencies.length > 1 ? `${w === null ? 'never' : w} (${all})` : all;
}

/** Pooled figures of one variant over its multi-person clips. */
export function multiFigures(r: MultiVariantResult): { J: number; F: number; TE: number; pooled: PeopleMetrics; clips: number } {
  const rows = multiClips(r);
  return { J: mean(rows.map((c) => c.J)), F: mean(rows.map((c) => c.F)), TE: mean(rows.map((c) => c.TE)), pooled: poolClips(rows.map((c) => c.people)), clips: rows.length };
}

/** The summary table: one row per variant. */
export function multiSummary(results: readonly MultiVariantResult[]): string[] {
  const lines = [
    '| variant | J | F | TE % | per-person recall | person-frames found / visible | longest miss run (frames) | the same, ≥ half inside the picture | entering person found after (frames) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const m = multiFigures(r);
    if (!m.clips) continue;
    lines.push(`| ${r.variant.name} | ${fmt(m.J, 4)} | ${fmt(m.F, 4)} | ${fmt(100 * m.TE, 3)} | ${fmt(m.pooled.recall, 3)} | ${m.pooled.found} / ${m.pooled.visible} | ${m.pooled.longestMiss} | ${m.pooled.longestMissInside} | ${latencyCell(m.pooled.enterLatencies)} |`);
  }
  return lines;
}

/** Per clip: recall / J / longest miss run / entering latency, one column per variant. */
export function multiPerClip(results: readonly MultiVariantResult[]): string[] {
  const names = results.length ? multiClips(results[0]!).map((c) => c.clip) : [];
  const lines = [`| clip (people) | ${results.map((r) => r.variant.name).join(' | ')} |`, `|---|${results.map(() => '---:').join('|')}|`];
  for (const n of names) {
    const cells = results.map((r) => {
      const c = multiClips(r).find((x) => x.clip === n);
      if (!c) return '–';
      const enter = c.people.enterLatencies.length ? ` / ${latencyCell(c.people.enterLatencies)}` : '';
      return `${fmt(c.people.recall, 3)} / ${fmt(c.J, 3)} / ${c.people.longestMiss}${enter}`;
    });
    lines.push(`| ${n} (${multiClips(results[0]!).find((x) => x.clip === n)!.people.people.length}) | ${cells.join(' | ')} |`);
  }
  return lines;
}

/** Per person: recall / longest miss run, one column per variant (shows who is lost, and how small they are). */
export function multiPerPerson(results: readonly MultiVariantResult[], truthPx?: ReadonlyMap<string, number>): string[] {
  const first = results[0];
  if (!first) return [];
  const lines = [`| clip · person (role${truthPx ? ', median visible px' : ''}) | ${results.map((r) => r.variant.name).join(' | ')} |`, `|---|${results.map(() => '---:').join('|')}|`];
  for (const c of multiClips(first)) {
    c.people.people.forEach((p, k) => {
      const cells = results.map((r) => {
        const q = multiClips(r).find((x) => x.clip === c.clip)?.people.people[k];
        return q ? `${q.recall === null ? '–' : fmt(q.recall, 2)} / ${q.longestMiss}${q.longestMissInside !== q.longestMiss ? ` (${q.longestMissInside})` : ''}` : '–';
      });
      const px = truthPx?.get(`${c.clip}/${p.name}`);
      lines.push(`| ${c.clip} · ${p.name} (${p.role ?? '?'}${px !== undefined ? `, ${px}` : ''}) | ${cells.join(' | ')} |`);
    });
  }
  return lines;
}

/**
 * The issue's acceptance figures on the multi-person clips for `candidate`, against `roiOff`
 * (the same temporal stage on the whole picture: what `--roi off` gives).
 */
export function multiAcceptance(results: readonly MultiVariantResult[], candidate: string, roiOff: string): string[] {
  const cand = results.find((r) => r.variant.name === candidate);
  if (!cand || !multiFigures(cand).clips) return [`(multi-person acceptance: needs "${candidate}" on the multi-person clips)`];
  const m = multiFigures(cand);
  const off = results.find((r) => r.variant.name === roiOff);
  const o = off ? multiFigures(off) : undefined;
  const ok = (b: boolean) => (b ? 'met' : 'NOT met');
  const w = worstLatency(m.pooled.enterLatencies);
  return [
    `| check (${candidate}, multi-person clips) | target | measured | |`,
    '|---|---|---:|---|',
    `| per-person recall | ≥ 0.9 | ${fmt(m.pooled.recall, 3)} | ${ok(m.pooled.recall >= 0.9)} |`,
    `| J | ≥ 0.8 | ${fmt(m.J, 4)} | ${ok(m.J >= 0.8)} |`,
    o
      ? `| beats ${roiOff} (--roi off) on recall and J | both higher | recall ${fmt(o.pooled.recall, 3)} → ${fmt(m.pooled.recall, 3)}, J ${fmt(o.J, 4)} → ${fmt(m.J, 4)} | ${ok(m.pooled.recall > o.pooled.recall && m.J > o.J)} |`
      : `| beats ${roiOff} (--roi off) on recall and J | both higher | (run "${roiOff}" too) | |`,
    `| longest run of frames a visible person is missed | ≤ 10 | ${m.pooled.longestMiss} | ${ok(m.pooled.longestMiss <= 10)} |`,
    `| (the same, frames with at least half of the person inside the picture only) | (≤ 10) | ${m.pooled.longestMissInside} | |`,
    `| entering person found after becoming fully visible (worst) | ≤ 10 frames | ${latencyCell(m.pooled.enterLatencies)} | ${w === undefined ? '' : ok(w !== null && w <= 10)} |`,
  ];
}
