/**
 * One session's mask receivers: at most one WebRTC data channel (WebSocket-signaled sessions)
 * plus up to `maxSubscribers` WebSocket subscribers (`GET /sessions/{id}/masks`; the only
 * receivers of a WHIP session, which has no data channel). Every receiver gets the same
 * encoded message and has its own MaskSender, so one slow subscriber drops its own masks
 * (not queued, see maskSender.ts) without holding back the others.
 *
 * Pure bookkeeping: no metrics, no sockets. The session turns a SendReport into counters.
 * Close: close() detaches everything and tells each subscriber why (it closes its socket).
 */
import type { MaskSink } from '../observability/metrics.js';
import { MaskSender, type ChannelLike } from './maskSender.js';

/** A subscriber: a channel plus how to end it when the session ends. */
export interface SubscriberPort extends ChannelLike {
  /** The session ended (`reason` is the ByeReason told to the client); close the socket. */
  end(reason: string): void;
}

/** More subscribers than the session admits. */
export class SubscriberLimitError extends Error {
  override readonly name = 'SubscriberLimitError';
}

/** What happened to one message. */
export interface SendReport {
  /** Receivers it was sent to. */
  readonly sent: number;
  /** Receivers that were open but over their buffer limit, by kind. */
  readonly backpressure: readonly MaskSink[];
}

export class MaskFanout {
  private channel: MaskSender | undefined;
  private readonly subscribers = new Map<SubscriberPort, MaskSender>();
  private closed = false;

  /**
   * @param maxBufferedBytes per receiver: a message that would take its backlog over this is dropped, bytes
   * @param maxSubscribers subscriber sockets admitted at once
   */
  constructor(private readonly maxBufferedBytes: number, private readonly maxSubscribers: number) {}

  attachChannel(channel: ChannelLike): void {
    if (this.closed) return;
    this.channel = new MaskSender(this.maxBufferedBytes);
    this.channel.attach(channel);
  }

  /** Adds a subscriber; throws SubscriberLimitError when full. Returns its removal function. */
  addSubscriber(sub: SubscriberPort): () => void {
    if (this.closed) throw new SubscriberLimitError('the session has ended');
    if (this.subscribers.size >= this.maxSubscribers) {
      throw new SubscriberLimitError(`this session already has ${this.subscribers.size} mask subscribers (the limit, maxMaskSubscribers); close one first`);
    }
    const sender = new MaskSender(this.maxBufferedBytes);
    sender.attach(sub);
    this.subscribers.set(sub, sender);
    return () => {
      this.subscribers.get(sub)?.detach();
      this.subscribers.delete(sub);
    };
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Whether any receiver is open now (if none, computing a mask is wasted work). */
  get hasReceivers(): boolean {
    if (this.channel?.ready) return true;
    for (const s of this.subscribers.values()) if (s.ready) return true;
    return false;
  }

  send(message: Uint8Array): SendReport {
    let sent = 0;
    const backpressure: MaskSink[] = [];
    const one = (sender: MaskSender, kind: MaskSink) => {
      const outcome = sender.send(message);
      if (outcome === 'sent') sent++;
      else if (outcome === 'backpressure') backpressure.push(kind);
    };
    if (this.channel) one(this.channel, 'data_channel');
    for (const s of this.subscribers.values()) one(s, 'subscriber');
    return { sent, backpressure };
  }

  /** Detaches every receiver and ends each subscriber with `reason`. Idempotent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.channel?.detach();
    this.channel = undefined;
    const subs = [...this.subscribers.keys()];
    this.subscribers.clear();
    for (const s of subs) s.end(reason);
  }
}
