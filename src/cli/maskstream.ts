#!/usr/bin/env node
/**
 * `maskstream` command line. Subcommands: serve (default).
 */
import { loadConfig, describeConfig, ConfigError } from '../config.js';
import { startServer } from '../main.js';

async function serve(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log('usage: maskstream serve [flags]\n\nflags (each also settable as an environment variable):');
    for (const r of describeConfig()) console.log(`  ${r.flag.padEnd(22)} ${r.env.padEnd(32)} default ${r.default}`);
    return;
  }
  const config = loadConfig({ env: process.env, argv });
  const server = await startServer({}, { config });
  console.log(`maskstream ready: open ${server.url} (backend ${server.engineInfo.backend}, model ${server.engineInfo.model})`);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${sig}: closing sessions and shutting down`);
    server.close().then(() => process.exit(0), (e: Error) => {
      console.error(e);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  switch (cmd) {
    case undefined:
    case 'serve':
      return serve(rest);
    default:
      if (cmd.startsWith('--')) return serve([cmd, ...rest]);
      throw new ConfigError(`unknown command "${cmd}" (known: serve)`);
  }
}

main().catch((e: Error) => {
  console.error(`maskstream: ${e.name === 'ConfigError' ? 'configuration error: ' : ''}${e.message}`);
  process.exit(1);
});
