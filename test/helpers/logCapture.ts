/**
 * A mocha root-hook plugin (.mocharc*.json `require`): the JSON log lines of servers a test
 * starts in this process are kept while the test runs and printed under it only when it fails,
 * so a passing suite's output is mocha's alone. Lines logged in a `before` hook count towards
 * the first test after it. Child processes (CLI tests) are not affected: their output is piped.
 */
import type { Context } from 'mocha';
import { setDefaultLogSink } from '../../src/observability/logger.js';

/** Lines kept per test at most: a failing test shows its last ones. */
const MAX_LINES = 500;
let lines: string[] = [];
let dropped = 0;

export const mochaHooks = {
  beforeAll(): void {
    setDefaultLogSink((line) => {
      lines.push(line);
      if (lines.length > MAX_LINES) {
        lines.shift();
        dropped++;
      }
    });
  },
  afterEach(this: Context): void {
    if (this.currentTest?.state === 'failed' && lines.length > 0) {
      const head = dropped > 0 ? ` (the last ${lines.length}; ${dropped} earlier lines not kept)` : '';
      process.stdout.write(`      server log of "${this.currentTest.title}"${head}:\n${lines.map((l) => `        ${l}`).join('\n')}\n`);
    }
    lines = [];
    dropped = 0;
  },
  afterAll(): void {
    setDefaultLogSink();
  },
};
