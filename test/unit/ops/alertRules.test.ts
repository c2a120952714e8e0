/**
 * The alert rules under test in Prometheus' own tool: the rules file is extracted from
 * k8s/monitoring/prometheusrule.yaml (scripts/prometheus-rules.mjs, the same code an operator
 * runs), `promtool check rules` must accept it and `promtool test rules` must pass the unit tests
 * in k8s/monitoring/tests/ — series that must fire each alert (labels and annotations included)
 * and series that must not. Every alert of the manifest needs at least one case of each kind, so
 * an alert added without tests fails here. promtool comes from Debian's `prometheus` package
 * (`.ci/run` installs it); without it this test fails, it is never skipped.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { projectRoot } from '../../../src/paths.js';

/** scripts/prometheus-rules.mjs (plain JS, so operators run it without a build). */
interface RulesModule {
  readonly RULES_MANIFEST: string;
  readonly RULE_TESTS_DIR: string;
  readonly RULES_FILE: string;
  ruleGroups(text: string): { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
  writeRuleFiles(dir: string): { rulesFile: string; testFiles: string[] };
  promtool(args: string[]): { ok: boolean; output: string };
}

interface AlertCase {
  readonly eval_time: string;
  readonly alertname: string;
  readonly exp_alerts?: unknown[];
}
interface TestGroup {
  readonly name?: string;
  readonly alert_rule_test?: AlertCase[];
}

describe('alert rules in promtool (k8s/monitoring/prometheusrule.yaml)', function () {
  this.timeout(60_000);
  let rules: RulesModule;
  let tmp: string;

  before(async () => {
    rules = (await import(pathToFileURL(path.join(projectRoot(), 'scripts', 'prometheus-rules.mjs')).href)) as RulesModule;
    tmp = mkdtempSync(path.join(os.tmpdir(), 'maskstream-promtool-'));
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const groups = () => rules.ruleGroups(readFileSync(rules.RULES_MANIFEST, 'utf8'));
  const alerts = () => groups().flatMap((g) => g.rules).filter((r) => r.alert).map((r) => r.alert!);

  it('extracts the rules file from the PrometheusRule, and promtool check rules accepts every rule', () => {
    const { rulesFile } = rules.writeRuleFiles(tmp);
    const count = groups().reduce((n, g) => n + g.rules.length, 0);
    const check = rules.promtool(['check', 'rules', rulesFile]);
    console.log(`      ${check.output.split('\n').pop()!.trim()} (7 recording, ${alerts().length} alerts)`);
    expect(check.ok, check.output).to.equal(true);
    expect(check.output).to.contain(`SUCCESS: ${count} rules found`);
    expect(count).to.be.at.least(16);
  });

  it('passes promtool test rules: each alert fires on its series with its labels and annotations, and stays quiet on the others', () => {
    const { testFiles } = rules.writeRuleFiles(tmp);
    expect(testFiles.length).to.be.greaterThan(0);
    const test = rules.promtool(['test', 'rules', ...testFiles]);
    expect(test.ok, `promtool test rules failed:\n${test.output}`).to.equal(true);
    expect(test.output).to.contain('SUCCESS');
  });

  it('has at least one firing and one non-firing case for every alert, and none for alerts that do not exist', () => {
    const cases = readdirSync(rules.RULE_TESTS_DIR).filter((f) => f.endsWith('.yaml')).flatMap((f) => {
      const doc = parse(readFileSync(path.join(rules.RULE_TESTS_DIR, f), 'utf8'), { merge: true }) as { tests: TestGroup[] };
      return doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    });
    const known = alerts();
    const table: string[] = [];
    for (const alert of known) {
      const mine = cases.filter((c) => c.alertname === alert);
      const firing = mine.filter((c) => (c.exp_alerts ?? []).length > 0).length;
      const quiet = mine.filter((c) => (c.exp_alerts ?? []).length === 0).length;
      table.push(`${alert} ${firing}/${quiet}`);
      expect(firing, `${alert}: cases that must fire it`).to.be.at.least(1);
      expect(quiet, `${alert}: cases that must not`).to.be.at.least(1);
    }
    console.log(`      firing/quiet cases: ${table.join(', ')}`);
    for (const c of cases) expect(known, `test case for ${c.alertname} at ${c.eval_time}`).to.include(c.alertname);
  });

  it('fails when a rule changes under its tests (a drop threshold raised, a window widened)', () => {
    const { rulesFile, testFiles } = rules.writeRuleFiles(tmp);
    const original = readFileSync(rulesFile, 'utf8');
    const mutations: [string, RegExp, string][] = [
      ['MaskstreamFrameDropsHigh', /(maskstream_frames_received_total\[10m\]\)\) > )0\.1/, '$10.5'],
      ['MaskstreamSessionsRefused', /(reason="server_full"\}\[)5m\]/, '$110m]'],
    ];
    for (const [alert, from, to] of mutations) {
      expect(original, `${alert} rule as expected by this test`).to.match(from);
      writeFileSync(rulesFile, original.replace(from, to));
      const test = rules.promtool(['test', 'rules', ...testFiles]);
      expect(test.ok, `${alert} changed, promtool test rules should fail`).to.equal(false);
      expect(test.output).to.contain(`alertname: ${alert}`);
    }
    writeFileSync(rulesFile, original);
  });
});
