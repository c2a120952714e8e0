/**
 * `serve --help` and the README's Configuration section against the config parser: every flag
 * the parser accepts has a described, aligned row in --help (with its default and environment
 * variable) and a row in a README settings table.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, DEFAULTS, describeConfig, loadConfig } from '../../../src/config.js';
import { serveHelp, shownDefault } from '../../../src/cli/serveHelp.js';
import { projectRoot } from '../../../src/paths.js';

/** The flags loadConfig accepts, as it lists them when refusing an unknown one. */
function parserFlags(): string[] {
  try {
    loadConfig({ argv: ['--no-such-flag', '1'] });
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    const known = /\(known: ([^)]*)\)/.exec((e as Error).message)?.[1];
    expect(known, (e as Error).message).to.be.a('string');
    return known!.split(', ');
  }
  throw new Error('loadConfig accepted --no-such-flag');
}

/** The README's "## Configuration" section, up to the next "## " heading. */
function readmeConfiguration(): string {
  const readme = readFileSync(path.join(projectRoot(), 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Configuration\n');
  expect(start, 'README has a Configuration section').to.be.greaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('serve --help and the README settings tables', () => {
  const help = serveHelp();
  const lines = help.split('\n');
  const flags = parserFlags();
  const rows = new Map(describeConfig().map((r) => [r.flag, r]));

  it('the parser accepts exactly the documented settings (one flag per config field)', () => {
    expect(flags.length).to.equal(Object.keys(DEFAULTS).length);
    expect([...flags].sort()).to.deep.equal([...rows.keys()].sort());
    for (const f of flags) expect(loadConfig({ argv: [f, shownDefaultRaw(f)] }), `${f} parses its own default`).to.be.an('object');
  });

  it('lists every flag once with its default (and unit) and a description, in aligned columns', () => {
    const header = lines.findIndex((l) => /^ {2}flag +default +description$/.test(l));
    expect(header, help).to.be.greaterThan(0);
    const descCol = lines[header]!.indexOf('description');
    const defCol = lines[header]!.indexOf('default');
    for (const f of flags) {
      const at = lines.filter((l) => l.startsWith(`  ${f} `));
      expect(at, `one --help row for ${f}`).to.have.length(1);
      const line = at[0]!;
      const r = rows.get(f)!;
      expect(line.slice(defCol, descCol).trim(), `${f} default`).to.equal(shownDefault(r.default, r.unit));
      expect(line[descCol - 1], `${f}: the description starts in the description column`).to.equal(' ');
      expect(line.slice(descCol), `${f} has a description`).to.match(/^\S.{10,}/);
      // The environment variable follows on the row's continuation lines, in the same column.
      const i = lines.indexOf(line);
      const cont = [];
      for (let j = i + 1; j < lines.length && lines[j]!.startsWith(' '.repeat(descCol)); j++) cont.push(lines[j]!.slice(descCol));
      expect(cont.join(' '), `${f} names its environment variable`).to.contain(`env ${r.env}`);
      for (const c of cont) expect(c, `${f}: continuation aligned`).to.match(/^\S/);
    }
    expect(help).to.contain('env MASKSTREAM_PORT, else PORT');
  });

  it('has a README settings row for every flag, naming its environment variable(s)', () => {
    const section = readmeConfiguration();
    for (const f of flags) {
      const r = rows.get(f)!;
      const row = section.split('\n').filter((l) => l.startsWith('|') && l.includes(`| \`${f}\` |`));
      expect(row, `README row for ${f}`).to.have.length(1);
      const cells = row[0]!.split(' | ');
      expect(cells.length, `${f}: Setting | Flag | Environment | Default | Meaning`).to.equal(5);
      expect(cells[2], `${f} environment`).to.contain(`\`${r.env}\``);
      if (r.alias) expect(cells[2], `${f} alias`).to.contain(`\`${r.alias}\``);
      expect(cells[4]!.replace(/\|$/, '').trim(), `${f} meaning`).to.match(/\S{3,}/);
    }
  });
});

/** A value the parser accepts for a flag: its default as typed on a command line. */
function shownDefaultRaw(flag: string): string {
  const key = describeConfig().find((r) => r.flag === flag)!.key as keyof typeof DEFAULTS;
  const v = DEFAULTS[key] as unknown;
  if (v === null) return '';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}
