import { expect } from 'chai';
import { admissionVerdict } from '../../../src/session/admission.js';
import { ServerFullError, ServerOverloadedError, SessionRegistry } from '../../../src/session/sessionRegistry.js';
import { Metrics } from '../../../src/observability/metrics.js';
import { createLogger } from '../../../src/observability/logger.js';
import { loadConfig } from '../../../src/config.js';
import type { SessionDeps } from '../../../src/session/session.js';

describe('session/admission', () => {
  it('projects the load with one more session of the average cost and refuses above the limit', () => {
    // 2 measured sessions at 40 % → 20 % each → a third makes 60 %.
    expect(admissionVerdict({ utilization: 0.4, measuredSessions: 2, pendingSessions: 0 }, 0.9)).to.deep.equal({ admit: true, projected: 0.6000000000000001 });
    // 2 sessions at 70 % → a third makes 105 %.
    const v = admissionVerdict({ utilization: 0.7, measuredSessions: 2, pendingSessions: 0 }, 0.9);
    expect(v.admit).to.equal(false);
    expect(v.projected).to.be.closeTo(1.05, 1e-9);
    expect(!v.admit && v.message).to.match(/70 % busy with 2 session\(s\).*105 %.*90 % \(admissionMaxLoad\).*frame rate.*[Rr]etry/);
    // A session still connecting costs as much as the others: 1 measured at 40 % + 1 pending → 120 %.
    expect(admissionVerdict({ utilization: 0.4, measuredSessions: 1, pendingSessions: 1 }, 0.9).admit).to.equal(false);
    // Nothing measured yet: nothing to project from.
    expect(admissionVerdict({ utilization: 0.95, measuredSessions: 0, pendingSessions: 3 }, 0.9).admit).to.equal(true);
    // 0 = load-based admission off.
    expect(admissionVerdict({ utilization: 1, measuredSessions: 4, pendingSessions: 0 }, 0).admit).to.equal(true);
  });

  it('the registry refuses a new session with ServerOverloadedError (server_full to clients) and reports not ready', () => {
    const config = loadConfig({ overrides: { maxSessions: 8, admissionMaxLoad: 0.9 } });
    const metrics = new Metrics({ maxSessions: 8 });
    const deps = { config, metrics, logger: createLogger('silent') } as unknown as SessionDeps;
    let estimateSeen: unknown;
    let utilization = 0.95;
    // The estimate is injected: no session has to run and nothing is timed.
    const registry = new SessionRegistry(deps, 8, metrics, {
      utilization: () => utilization,
      check: (est) => {
        estimateSeen = est;
        return est.utilization > 0.9 ? { admit: false, projected: 1.4, message: 'inference is 95 % busy; retry later' } : { admit: true, projected: 0.5 };
      },
    });
    expect(registry.admitting).to.equal(false);
    let err: unknown;
    try {
      registry.create(() => undefined);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ServerOverloadedError);
    expect(err, 'answered like full by both signaling adapters').to.be.instanceOf(ServerFullError);
    expect((err as Error).message).to.match(/95 % busy; retry later/);
    expect(estimateSeen).to.deep.equal({ utilization: 0.95, measuredSessions: 0, pendingSessions: 0 });
    expect(registry.size).to.equal(0);
    utilization = 0.2;
    expect(registry.admitting).to.equal(true);
  });
});
