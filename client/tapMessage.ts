/** Messages from the sender-tap worker to the page. */
export type TapMessage =
  | { kind: 'frame'; rtp: number; ssrc: number; seenAtEpochMs: number; captureUsHint?: number }
  | { kind: 'error'; message: string };
