/**
 * `maskstream serve` as a user starts it, in a child process: a port in use is reported at
 * once (before the model loads) with one line naming the port and the flag; `PORT` (what
 * Heroku, Cloud Run and many charts set) is honoured; `--help` describes every flag.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { projectRoot } from '../../src/paths.js';
import { LOADED_MS, waitFor } from '../helpers/waitFor.js';

const CLI = path.join(projectRoot(), 'dist/src/cli/maskstream.js');

/** The test process's environment without MASKSTREAM_* and PORT, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MASKSTREAM_') && k !== 'PORT') env[k] = v;
  return { ...env, MASKSTREAM_BACKEND: 'wasm', ...extra };
}

interface Started {
  readonly child: ChildProcess;
  out: string;
  err: string;
  exit?: { code: number | null; ms: number };
}

function start(args: string[], env: NodeJS.ProcessEnv): Started {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd: projectRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  const s: Started = { child, out: '', err: '' };
  child.stdout!.on('data', (d: Buffer) => (s.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (s.err += d.toString()));
  child.on('exit', (code) => (s.exit = { code, ms: performance.now() - t0 }));
  return s;
}

/** A TCP port that was free a moment ago. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('maskstream serve (CLI in a child process)', function () {
  this.timeout(300_000);
  const children: ChildProcess[] = [];
  let blocker: net.Server | undefined;

  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (blocker) await new Promise<void>((resolve) => blocker!.close(() => resolve()));
    blocker = undefined;
  });

  it('a port in use: exit 1 at once with one line naming the port and how to pick another', async () => {
    blocker = net.createServer();
    await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    // Default log level (info): had the model loaded first, its startup lines would be here too.
    const s = start(['--port', String(port), '--host', '127.0.0.1'], envWith({}));
    children.push(s.child);
    expect(await waitFor(() => s.exit !== undefined, LOADED_MS), `exited (stderr so far: ${s.err})`).to.equal(true);
    console.log(`      port ${port} in use: exit ${s.exit!.code} ${s.exit!.ms.toFixed(0)} ms after start: ${s.err.trim()}`);
    expect(s.exit!.code).to.equal(1);
    expect(s.out).to.equal('');
    const lines = s.err.trimEnd().split('\n').filter((l) => !/TensorFlow\.js|^=+$|^$/.test(l));
    expect(lines, s.err).to.deep.equal([`maskstream: port ${port} is in use; pick another with --port <n> or MASKSTREAM_PORT/PORT`]);
  });

  it('listens on PORT when MASKSTREAM_PORT is unset', async () => {
    const port = await freePort();
    const s = start([], envWith({ PORT: String(port), MASKSTREAM_HOST: '127.0.0.1', MASKSTREAM_LOG_LEVEL: 'warn' }));
    children.push(s.child);
    expect(await waitFor(() => /maskstream ready: open /.test(s.out) || s.exit !== undefined, LOADED_MS), `ready (stderr: ${s.err})`).to.equal(true);
    expect(s.out).to.contain(`maskstream ready: open http://127.0.0.1:${port} `);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).to.equal(200);
    s.child.kill('SIGINT');
    expect(await waitFor(() => s.exit !== undefined, LOADED_MS), 'exits on SIGINT').to.equal(true);
    expect(s.exit!.code).to.equal(0);
  });

  it('--help: one aligned row per flag with its default and a description, --pipeline-mode included', async () => {
    const s = start(['--help'], envWith({}));
    children.push(s.child);
    expect(await waitFor(() => s.exit !== undefined, LOADED_MS)).to.equal(true);
    expect(s.exit!.code).to.equal(0);
    expect(s.out).to.match(/^ {2}--pipeline-mode +pool +pool \(worker threads, latest frame wins\)/m);
    expect(s.out).to.match(/^ +env MASKSTREAM_PORT, else PORT$/m);
  });
});
