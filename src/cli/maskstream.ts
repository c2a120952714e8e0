#!/usr/bin/env node
/**
 * `maskstream` command line. Subcommands: serve (default; the live server), segment (a .y4m
 * clip → mask PNGs offline), eval (metrics of mask PNGs against ground truth). Each is
 * imported only when chosen, so `segment`/`eval` do not load the server and `eval` does not
 * load TF.js.
 */
import { loadConfig } from '../config.js';

const USAGE = `usage: maskstream [command] [flags]

commands:
  serve    run the live WebRTC segmentation server (default)
  segment  segment a .y4m clip into one 8-bit PNG mask per frame
  eval     compare mask PNGs with ground truth: J, F, TE, dtSSD

\`maskstream <command> --help\` lists each command's flags.`;

/** Error classes whose message is the whole story for the user: printed as one line, no stack. */
const USER_ERRORS = new Set([
  'ConfigError', 'UsageError', 'Y4mFormatError', 'PngFormatError', 'MetricsInputError', 'EvalInputError', 'SegmentInputError',
  'BackendUnavailableError', 'ModelIntegrityError', 'ManifestError', 'TemporalConfigError', 'ListenError',
]);

async function serve(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log((await import('./serveHelp.js')).serveHelp());
    return;
  }
  const { startServer } = await import('../main.js');
  const config = loadConfig({ env: process.env, argv });
  const server = await startServer({}, { config });
  console.log(`maskstream ready: open ${server.url} (backend ${server.engineInfo.backend}: ${server.engineInfo.provider}; model ${server.engineInfo.model}, temporal ${server.config.temporal})`);
  // SIGTERM (Kubernetes, systemd): drain — admit nothing new, let live sessions finish for up
  // to drainTimeoutMs, close the rest with bye "shutdown", exit 0. SIGINT (Ctrl-C), or a second
  // signal during a drain: close everything now.
  let phase: 'serving' | 'draining' | 'closing' = 'serving';
  const exitAfter = (p: Promise<unknown>) => p.then(() => process.exit(0), (e: Error) => {
    console.error(e);
    process.exit(1);
  });
  const closeNow = (sig: string) => {
    if (phase === 'closing') return;
    phase = 'closing';
    console.log(`${sig}: closing sessions and shutting down`);
    exitAfter(server.close());
  };
  process.on('SIGINT', () => closeNow('SIGINT'));
  process.on('SIGTERM', () => {
    if (phase !== 'serving') return closeNow('SIGTERM (again)');
    phase = 'draining';
    console.log(`SIGTERM: draining (no new sessions; live ones get up to ${config.drainTimeoutMs} ms), then shutting down`);
    exitAfter(server.drain().then((r) => {
      console.log(`drained in ${r.elapsedMs} ms (${r.sessionsAtStart} sessions at start, ${r.closedAtTimeout} closed at the timeout)`);
      phase = 'closing';
      return server.close();
    }));
  });
}

const io = {
  stdout: (s: string) => void process.stdout.write(s),
  stderr: (s: string) => void process.stderr.write(s),
  env: process.env,
};

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  switch (cmd) {
    case undefined:
    case 'serve':
      return serve(rest);
    case 'segment':
      return (await import('./segment.js')).runSegment(rest, io);
    case 'eval':
      return (await import('./eval.js')).runEval(rest, io);
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default: {
      if (cmd.startsWith('--')) return serve([cmd, ...rest]);
      const { UsageError } = await import('./flags.js');
      throw new UsageError(`unknown command "${cmd}" (known: serve, segment, eval; see maskstream --help)`);
    }
  }
}

main().catch((e: Error & { code?: unknown }) => {
  const prefix = e.name === 'ConfigError' ? 'configuration error: ' : '';
  console.error(`maskstream: ${prefix}${e.message}`);
  // System errors (ENOENT, EADDRINUSE, …) and our own named errors explain themselves; anything
  // else is a bug, where the stack is what a report needs.
  if (!USER_ERRORS.has(e.name) && typeof e.code !== 'string' && e.stack) console.error(e.stack.split('\n').slice(1).join('\n'));
  process.exit(1);
});
