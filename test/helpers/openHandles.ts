/**
 * A mocha root-hook plugin (.mocharc*.json `require`): the suite must exit by itself
 * (`"exit": false`). If anything is still open two seconds after the last test — a publisher a
 * failed test did not close, a child process, a server — this says what, on stderr, so the hang
 * has a name. The timer is unref'd: when nothing is left, the process exits before it fires.
 */
export const mochaHooks = {
  afterAll(): void {
    setTimeout(() => {
      const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
      process.stderr.write(`mocha: the suite finished but the process is kept alive by ${JSON.stringify(open)}; close them where they are opened (a test's afterEach)\n`);
    }, 2000).unref();
  },
};
