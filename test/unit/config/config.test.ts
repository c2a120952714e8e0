import { expect } from 'chai';
import { ConfigError, DEFAULTS, describeConfig, loadConfig, roiOptionsOf } from '../../../src/config.js';
import { DEFAULT_ROI } from '../../../src/roi/roiTracker.js';

describe('config', () => {
  it('defaults when nothing is set, frozen', () => {
    const c = loadConfig();
    expect(c).to.deep.equal(DEFAULTS);
    expect(Object.isFrozen(c)).to.equal(true);
  });

  it('reads env, then flags (higher precedence), then overrides', () => {
    const c = loadConfig({
      env: { MASKSTREAM_PORT: '9000', MASKSTREAM_MODEL: 'selfie', PATH: '/bin' },
      argv: ['--port', '9001', '--ice-servers=stun:127.0.0.1:3478', '--ice-port-range', '40000-40100'],
      overrides: { maxSessions: 2 },
    });
    expect(c.port).to.equal(9001);
    expect(c.model).to.equal('selfie');
    expect(c.iceServers).to.deep.equal(['stun:127.0.0.1:3478']);
    expect(c.icePortRange).to.deep.equal([40000, 40100]);
    expect(c.maxSessions).to.equal(2);
  });

  it('reads PORT (what platforms set) when MASKSTREAM_PORT is unset; MASKSTREAM_PORT, then --port, win', () => {
    expect(loadConfig({ env: { PORT: '5000' } }).port).to.equal(5000);
    expect(loadConfig({ env: { PORT: '5000', MASKSTREAM_PORT: '6000' } }).port).to.equal(6000);
    expect(loadConfig({ env: { MASKSTREAM_PORT: '6000', PORT: '5000' } }).port, 'whatever the order of the variables').to.equal(6000);
    expect(loadConfig({ env: { PORT: '5000' }, argv: ['--port', '7000'] }).port).to.equal(7000);
    expect(loadConfig({ env: {} }).port).to.equal(DEFAULTS.port);
    // Validated like MASKSTREAM_PORT, and named in the message.
    expect(() => loadConfig({ env: { PORT: 'http' } })).to.throw(ConfigError, /^PORT: must be an integer in \[0, 65535\]/);
    // A bad PORT does not matter when MASKSTREAM_PORT is set (it is not read).
    expect(loadConfig({ env: { PORT: 'http', MASKSTREAM_PORT: '6000' } }).port).to.equal(6000);
    expect(describeConfig().find((r) => r.key === 'port')).to.include({ env: 'MASKSTREAM_PORT', alias: 'PORT' });
  });

  it('rejects bad values, unknown variables and flags with a message naming them', () => {
    const bad: [Parameters<typeof loadConfig>[0], RegExp][] = [
      [{ env: { MASKSTREAM_PORT: 'http' } }, /MASKSTREAM_PORT: must be an integer/],
      [{ env: { MASKSTREAM_PROT: '1' } }, /unknown environment variable MASKSTREAM_PROT/],
      [{ argv: ['--model', 'bodypix'] }, /--model: must be one of meet, selfie/],
      [{ argv: ['--nope', '1'] }, /unknown flag --nope/],
      [{ argv: ['--port'] }, /--port needs a value/],
      [{ argv: ['--ice-port-range', '5000-4000'] }, /ice-port-range/],
      [{ argv: ['--ice-servers', 'http://x'] }, /not a stun/],
      [{ argv: ['serve'] }, /unexpected argument/],
      [{ env: { MASKSTREAM_ROI_DETECT_EVERY: '0' } }, /MASKSTREAM_ROI_DETECT_EVERY: must be an integer in \[1, 600\]/],
    ];
    for (const [opts, re] of bad) expect(() => loadConfig(opts)).to.throw(ConfigError, re);
  });

  it('hands the region-of-interest settings to the tracker: refresh, detector and its rate, second model', () => {
    const roi = roiOptionsOf(loadConfig({ argv: ['--roi-detect-every', '5', '--roi-refresh-frames', '20'] }));
    expect(roi).to.deep.equal({ ...DEFAULT_ROI, detectEvery: 5, refreshFrames: 20 });
    expect(roiOptionsOf(loadConfig())).to.deep.equal(DEFAULT_ROI);
    expect(roiOptionsOf(loadConfig({ argv: ['--roi', 'off'] }))).to.equal(false);
  });

  it('documents every field with its env var and flag', () => {
    const rows = describeConfig();
    expect(rows.map((r) => r.key).sort()).to.deep.equal(Object.keys(DEFAULTS).sort());
    for (const r of rows) {
      expect(r.env).to.match(/^MASKSTREAM_[A-Z_]+$/);
      expect(r.flag).to.match(/^--[a-z-]+$/);
      expect(r.help, `${r.flag} has a description`).to.match(/^\S.{15,}/);
    }
  });
});
