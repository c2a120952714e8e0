/**
 * `maskstream serve --help`: every setting of src/config.ts as aligned columns — flag, default
 * with its unit, description — and under each description the environment variable(s) that set
 * it. Pure; the CLI prints it.
 */
import { describeConfig } from '../config.js';

/** Width the description column wraps at, characters (a terminal of 100 columns). */
const LINE_WIDTH = 100;

/** A default as a user would type it: lists comma-joined, empty as "(none)", null as "(any)"; then the unit. */
export function shownDefault(json: string, unit?: string): string {
  const v: unknown = JSON.parse(json);
  if (v === null) return '(any)';
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.join(',');
  if (v === '') return '(none)';
  return unit ? `${String(v)} ${unit}` : String(v);
}

/** Words of `text` in lines of at most `width` characters (a longer word gets its own line). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const word of text.split(' ')) {
    if (cur && cur.length + 1 + word.length > width) {
      lines.push(cur);
      cur = word;
    } else {
      cur = cur ? `${cur} ${word}` : word;
    }
  }
  if (cur) lines.push(cur);
  return lines;
}

export function serveHelp(): string {
  const rows = describeConfig().map((r) => ({
    flag: r.flag,
    def: shownDefault(r.default, r.unit),
    text: r.help,
    env: `env ${r.env}${r.alias ? `, else ${r.alias}` : ''}`,
  }));
  const flagW = Math.max('flag'.length, ...rows.map((r) => r.flag.length));
  const defW = Math.max('default'.length, ...rows.map((r) => r.def.length));
  const indent = 2 + flagW + 2 + defW + 2;
  const textW = Math.max(40, LINE_WIDTH - indent);
  const out = [
    'usage: maskstream serve [--flag value | --flag=value] …',
    '',
    'Runs the live server. Every flag is also an environment variable (flags win); values are',
    'validated at start and a bad one stops the server with one line.',
    '',
    `  ${'flag'.padEnd(flagW)}  ${'default'.padEnd(defW)}  description`,
  ];
  for (const r of rows) {
    const [first = '', ...rest] = wrap(r.text, textW);
    out.push(`  ${r.flag.padEnd(flagW)}  ${r.def.padEnd(defW)}  ${first}`);
    for (const l of [...rest, ...wrap(r.env, textW)]) out.push(`${' '.repeat(indent)}${l}`);
  }
  return out.join('\n');
}
