/**
 * Load-based admission: refuse a new session when the inference pool could not keep the
 * sessions it has at their frame rate with one more. Pure: the load estimate is passed in.
 *
 * The estimate is the pool's utilization over the last window (busy share of its capacity,
 * 0..1) and how many sessions it reflects: each session that already produced masks costs on
 * average utilization / measured; sessions admitted but not producing yet (still connecting)
 * and the new one are assumed to cost the same. Refuse when that projection exceeds maxLoad.
 * Without a measured session there is nothing to project from: admit (maxSessions still applies).
 */

export interface LoadEstimate {
  /** Busy share of the inference pool's capacity over the recent window, 0..1. */
  readonly utilization: number;
  /** Open sessions that have produced masks (their cost is in `utilization`). */
  readonly measuredSessions: number;
  /** Open sessions admitted that have not produced a mask yet. */
  readonly pendingSessions: number;
}

export type AdmissionVerdict =
  | { readonly admit: true; readonly projected: number }
  | { readonly admit: false; readonly projected: number; readonly message: string };

/**
 * @param maxLoad share of capacity the projection may reach, (0, 1]; 0 = load-based admission off
 */
export function admissionVerdict(est: LoadEstimate, maxLoad: number): AdmissionVerdict {
  const measured = Math.max(0, est.measuredSessions);
  const pending = Math.max(0, est.pendingSessions);
  const utilization = Math.max(0, est.utilization);
  const projected = measured > 0 ? (utilization * (measured + pending + 1)) / measured : utilization;
  if (maxLoad <= 0 || measured === 0 || projected <= maxLoad) return { admit: true, projected };
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  return {
    admit: false,
    projected,
    message:
      `inference is ${pct(utilization)} busy with ${measured + pending} session(s); one more would need about ${pct(projected)} ` +
      `of its capacity, over the admission limit of ${pct(maxLoad)} (admissionMaxLoad): existing sessions would fall below their frame rate. ` +
      'Retry later or on another instance',
  };
}
