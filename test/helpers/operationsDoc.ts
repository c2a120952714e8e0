/**
 * Reads the metrics reference table of docs/operations.md, so tests hold the documentation
 * to what the server exposes. Rows look like:
 *   | `maskstream_x_total` | counter | `reason` = a, b; `other` = c | meaning |
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/paths.js';

export interface DocumentedMetric {
  readonly name: string;
  readonly type: string;
  readonly labels: Record<string, string[]>;
}

export function operationsDocPath(): string {
  return path.join(projectRoot(), 'docs', 'operations.md');
}

export function documentedMetrics(text = readFileSync(operationsDocPath(), 'utf8')): DocumentedMetric[] {
  const out: DocumentedMetric[] = [];
  for (const line of text.split('\n')) {
    const m = /^\| `(maskstream_[a-z_]+)` \| (counter|gauge|histogram) \| ([^|]*) \|/.exec(line);
    if (!m) continue;
    const labels: Record<string, string[]> = {};
    const cell = m[3]!.trim();
    if (cell !== '—') {
      for (const part of cell.split(';')) {
        const lm = /^\s*`([a-z_]+)` = (.+)$/.exec(part);
        if (!lm) throw new Error(`docs/operations.md: cannot read the labels "${part}" of ${m[1]}`);
        labels[lm[1]!] = lm[2]!.split(',').map((v) => v.trim());
      }
    }
    out.push({ name: m[1]!, type: m[2]!, labels });
  }
  return out;
}
