/**
 * Launches Debian's Chromium (playwright-core, no bundled browser) with a fake camera that
 * plays a y4m clip, headless, in a fresh throw-away profile.
 *
 * Playwright refuses `--user-data-dir` in launch() args; launchPersistentContext() with a
 * fresh temp directory is the supported way to get the same thing.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface LaunchOptions {
  /** y4m clip played by the fake camera (looped by Chromium). */
  readonly clipPath: string;
  /**
   * `fake` (default): the fake camera plays clipPath, permission granted. `none`: no camera at
   * all (getUserMedia fails with NotFoundError). `denied`: a camera, but the user refuses it
   * (NotAllowedError).
   */
  readonly camera?: 'fake' | 'none' | 'denied';
  readonly headless?: boolean;
  readonly extraArgs?: readonly string[];
  readonly viewport?: { width: number; height: number };
}

export interface LaunchedChromium {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console messages of type "error" and uncaught page errors, as text. */
  readonly consoleErrors: string[];
  close(): Promise<void>;
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export function chromiumArgs(clipPath: string, camera: LaunchOptions['camera'] = 'fake'): string[] {
  return [
    // No fake device: a container has no camera, so getUserMedia finds none.
    ...(camera === 'none' ? [] : ['--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${clipPath}`]),
    // Without the fake UI the permission prompt is answered "block" (headless, nobody to click).
    ...(camera === 'denied' ? ['--deny-permission-prompts'] : ['--use-fake-ui-for-media-stream']),
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ];
}

export async function launchChromium(opts: LaunchOptions): Promise<LaunchedChromium> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'maskstream-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: opts.headless ?? true,
      args: [...chromiumArgs(opts.clipPath, opts.camera), ...(opts.extraArgs ?? [])],
      viewport: opts.viewport ?? { width: 1000, height: 640 },
    });
  } catch (e) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  let closed = false;
  return {
    context,
    page,
    consoleErrors,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await context.close();
      } finally {
        rmSync(userDataDir, { recursive: true, force: true });
      }
    },
  };
}
