/**
 * Static checks of the Dockerfile (no container engine here to build it): the stages and
 * their base images, COPY --from references, non-root runtime users, a /healthz HEALTHCHECK
 * whose script parses, an entrypoint that the build produces, and only MASKSTREAM_* variables
 * the server knows in the runtime images (an unknown one stops the server at start-up).
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../../src/paths.js';
import { describeConfig } from '../../../src/config.js';

interface Stage {
  readonly name: string;
  readonly from: string;
  readonly lines: string[];
}

/** Dockerfile → stages of logical lines (continuations joined, comments dropped). */
function stages(text: string): Stage[] {
  const logical = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: Stage[] = [];
  for (const l of logical) {
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(l);
    if (m) out.push({ from: m[1]!, name: m[2] ?? `#${out.length}`, lines: [] });
    else out.at(-1)?.lines.push(l);
  }
  return out;
}

describe('Dockerfile (static)', () => {
  const root = projectRoot();
  const all = stages(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
  const stage = (n: string) => all.find((s) => s.name === n)!;
  const known = new Set(describeConfig().map((r) => r.env));

  it('has build, cpu and gpu stages on the intended base images, each running its backend', () => {
    expect(all.map((s) => s.name)).to.include.members(['build', 'cpu', 'gpu', 'gpu-cuda', 'gpu-tf']);
    expect(stage('build').from).to.equal('node:20-bookworm');
    expect(stage('cpu').from).to.equal('node:20-bookworm-slim');
    // WebGPU needs only the driver (mounted by the container toolkit) and Debian's Vulkan loader.
    expect(stage('gpu').from).to.equal('node:20-bookworm-slim');
    expect(stage('gpu').lines.join('\n')).to.match(/apt-get install -y --no-install-recommends libvulkan1/);
    // ONNX Runtime 1.30's CUDA provider is built for CUDA 12 and cuDNN 9.
    expect(stage('gpu-cuda').from).to.match(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu22\.04$/);
    expect(stage('gpu-tf').from).to.match(/^nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu20\.04$/);
    const env = (n: string, k: string) => new RegExp(`${k}=(\\S+)`).exec(stage(n).lines.filter((l) => l.startsWith('ENV ')).join(' '))?.[1];
    expect([env('cpu', 'MASKSTREAM_BACKEND'), env('gpu', 'MASKSTREAM_BACKEND'), env('gpu-cuda', 'MASKSTREAM_BACKEND'), env('gpu-tf', 'MASKSTREAM_BACKEND')]).to.deep.equal(['ort-cpu', 'ort-webgpu', 'ort-cuda', 'tensorflow-gpu']);
    // Vulkan inside a container needs the driver's graphics capability, not only compute.
    expect(env('gpu', 'NVIDIA_DRIVER_CAPABILITIES')!.split(',')).to.include('graphics');
    // The CUDA provider is installed at build and checked to be there.
    expect(stage('build-cuda').lines.join('\n')).to.match(/--onnxruntime-node-install=cuda12[\s\S]*libonnxruntime_providers_cuda\.so/);
  });

  it('copies only from earlier stages', () => {
    all.forEach((s, i) => {
      for (const l of s.lines) {
        const m = /^COPY\s+--from=(\S+)/i.exec(l);
        if (m) expect(all.slice(0, i).map((x) => x.name), `${s.name}: ${l}`).to.include(m[1]);
      }
    });
  });

  for (const name of ['cpu', 'gpu', 'gpu-cuda', 'gpu-tf']) {
    it(`runs the ${name} image as a non-root user with a /healthz HEALTHCHECK and the built CLI`, () => {
      const s = stage(name);
      const user = s.lines.filter((l) => l.startsWith('USER ')).at(-1);
      expect(user, 'USER').to.match(/^USER\s+\d+(:\d+)?$/);
      expect(user).to.not.match(/^USER\s+0\b/);
      const hc = s.lines.find((l) => l.startsWith('HEALTHCHECK'))!;
      expect(hc).to.contain('/healthz');
      const script = /"-e",\s*"(.+)"\]$/.exec(hc)?.[1];
      expect(script, 'node -e script').to.be.a('string');
      expect(() => new Function(script!.replace(/\\"/g, '"')), 'the healthcheck script parses').to.not.throw();
      const entry = JSON.parse(s.lines.find((l) => l.startsWith('ENTRYPOINT'))!.slice('ENTRYPOINT'.length)) as string[];
      expect(entry[0]).to.equal('node');
      expect(existsSync(path.join(root, entry[1]!)), `${entry[1]} is what the build produces`).to.equal(true);
      for (const l of s.lines.filter((x) => x.startsWith('ENV '))) {
        for (const v of l.match(/MASKSTREAM_[A-Z_]+(?==)/g) ?? []) expect(known, `${name}: ENV ${v} is a server setting`).to.include(v);
      }
      for (const l of s.lines.filter((x) => /^COPY\s+--from=\S+\s+\/app\/dist\//.test(x))) {
        const src = /\/app\/(dist\/\S+)/.exec(l)![1]!;
        expect(existsSync(path.join(root, src)), `${src} exists after npm run build`).to.equal(true);
      }
    });
  }

  it('keeps dependencies, builds and fetched weights out of the build context, sources in', () => {
    const ignore = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(ignore).to.include.members(['node_modules', 'dist', '.git', 'models/*.bin']);
    for (const needed of ['src', 'client', 'scripts', 'package.json', 'package-lock.json', 'models/manifest.json', 'tsconfig.json']) {
      expect(ignore.some((p) => p === needed || needed.startsWith(p + '/')), `${needed} stays in the context`).to.equal(false);
    }
  });
});
