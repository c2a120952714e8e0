// The alert and recording rules of k8s/monitoring/prometheusrule.yaml as a plain Prometheus
// rules file, and promtool run on it: `promtool check rules` (syntax, PromQL, templates) and
// `promtool test rules` with the unit tests in k8s/monitoring/tests/ (series that must fire each
// alert, with its labels and annotations, and series that must not).
//
//   node scripts/prometheus-rules.mjs              # extract to a temp dir, check + test, clean up
//   node scripts/prometheus-rules.mjs --out DIR    # keep DIR/maskstream.rules.yaml and the tests
//
// Needs promtool (Debian: apt-get install prometheus). The PrometheusRule's spec is exactly a rules
// file's content (`groups:`), so extracting it is all the Prometheus Operator does too; the tests
// run against what is extracted, so rules and tests cannot drift. test/unit/ops/alertRules.test.ts
// runs the same through `npm test`.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The PrometheusRule manifest. */
export const RULES_MANIFEST = path.join(root, 'k8s', 'monitoring', 'prometheusrule.yaml');
/** promtool unit tests; their `rule_files` name RULES_FILE, next to them. */
export const RULE_TESTS_DIR = path.join(root, 'k8s', 'monitoring', 'tests');
export const RULES_FILE = 'maskstream.rules.yaml';

/** `spec.groups` of the one PrometheusRule in `text` (a manifest), checked for shape. */
export function ruleGroups(text) {
  const docs = parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(`prometheusrule.yaml does not parse: ${d.errors[0].message}`);
    return d.toJS();
  }).filter((o) => o !== null);
  const rules = docs.filter((o) => o.kind === 'PrometheusRule');
  if (rules.length !== 1) throw new Error(`expected one PrometheusRule in the manifest, found ${rules.length}`);
  const groups = rules[0].spec?.groups;
  if (!Array.isArray(groups) || groups.length === 0) throw new Error('the PrometheusRule has no spec.groups');
  return groups;
}

/** Writes DIR/maskstream.rules.yaml from the manifest and copies the promtool tests beside it. */
export function writeRuleFiles(dir) {
  mkdirSync(dir, { recursive: true });
  const rulesFile = path.join(dir, RULES_FILE);
  writeFileSync(rulesFile, stringify({ groups: ruleGroups(readFileSync(RULES_MANIFEST, 'utf8')) }, { lineWidth: 0 }));
  const testFiles = readdirSync(RULE_TESTS_DIR).filter((f) => f.endsWith('.yaml')).sort().map((f) => {
    copyFileSync(path.join(RULE_TESTS_DIR, f), path.join(dir, f));
    return path.join(dir, f);
  });
  return { rulesFile, testFiles };
}

/** Runs promtool; `{ ok, output }`. A missing promtool throws with the install hint. */
export function promtool(args) {
  const r = spawnSync(process.env.PROMTOOL ?? 'promtool', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run promtool (${r.error.message}): apt-get install prometheus (Debian), or set PROMTOOL`);
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

function main() {
  const i = process.argv.indexOf('--out');
  const keep = i > 0 ? path.resolve(process.argv[i + 1] ?? '.') : undefined;
  const dir = keep ?? mkdtempSync(path.join(os.tmpdir(), 'maskstream-rules-'));
  try {
    const { rulesFile, testFiles } = writeRuleFiles(dir);
    const check = promtool(['check', 'rules', rulesFile]);
    console.log(`$ promtool check rules ${rulesFile}\n${check.output}`);
    const test = promtool(['test', 'rules', ...testFiles]);
    console.log(`$ promtool test rules ${testFiles.join(' ')}\n${test.output}`);
    process.exitCode = check.ok && test.ok ? 0 : 1;
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
