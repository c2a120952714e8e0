/**
 * Sends encoded mask messages on the session's data channel. Drops instead of
 * queueing when the channel is backed up: a mask that waits behind older masks is
 * late for the frame it belongs to, and the next one is ~33 ms away.
 */
export interface ChannelLike {
  readonly readyState: string;
  readonly bufferedAmount: number;
  send(data: Buffer): void;
}

export type SendOutcome = 'sent' | 'backpressure' | 'no_channel';

export class MaskSender {
  private channel: ChannelLike | undefined;

  constructor(private readonly maxBufferedBytes: number) {}

  attach(channel: ChannelLike): void {
    this.channel = channel;
  }

  detach(): void {
    this.channel = undefined;
  }

  get ready(): boolean {
    return this.channel !== undefined && this.channel.readyState === 'open';
  }

  send(message: Uint8Array): SendOutcome {
    const ch = this.channel;
    if (!ch || ch.readyState !== 'open') return 'no_channel';
    if (ch.bufferedAmount + message.byteLength > this.maxBufferedBytes) return 'backpressure';
    ch.send(Buffer.from(message.buffer, message.byteOffset, message.byteLength));
    return 'sent';
  }
}
