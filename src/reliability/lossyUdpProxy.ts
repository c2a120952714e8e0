/**
 * A UDP relay on loopback between a WebRTC publisher and the server that injects seeded
 * faults into the media path, for tests and fault runs:
 *
 *   publisher ──▶ [sideA] ──(loss, reorder)──▶ server        (server sees the relay's sideB)
 *   publisher ◀── [sideA] ◀──(loss, reorder)── [sideB] ◀── server
 *
 * ICE goes through it when each side is given only the relay as the other's candidate
 * (rewriteOffer / rewriteAnswer replace every a=candidate line). STUN and DTLS pass untouched
 * (RFC 7983 demultiplexing: only first bytes 128–191, RTP and RTCP, are subject to faults), so
 * the connection comes up reliably and only media and its feedback are lost or reordered.
 * `dropTimestamp()` drops every RTP packet of one frame (by RTP timestamp, which SRTP leaves in
 * clear; retransmissions keep the original timestamp, so RTX cannot repair it either).
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { rng as prng } from '../shared/random.js';

export interface LossyProxyOptions {
  /** Probability that an RTP/RTCP packet is dropped, 0..1, each direction. */
  readonly lossRate: number;
  /** Probability that an RTP/RTCP packet is held back (so later ones overtake it), 0..1. */
  readonly reorderRate: number;
  /** Longest hold of a reordered packet, ms (uniform in 1..this). */
  readonly reorderMaxDelayMs?: number;
  /** PRNG seed: the same seed gives the same fault pattern for the same packet sequence. */
  readonly seed: number;
}

export interface DirectionStats {
  forwarded: number;
  /** RTP/RTCP packets dropped at random. */
  dropped: number;
  reordered: number;
  /** Packets dropped by dropTimestamp(). */
  droppedByTimestamp: number;
  /** STUN/DTLS packets passed untouched. */
  control: number;
}

const isRtpOrRtcp = (b: Buffer) => b.length >= 12 && b[0]! >= 128 && b[0]! <= 191;
/** RTCP packet types 192–223 sit where an RTP header has marker + payload type (RFC 5761 §4). */
const isRtcp = (b: Buffer) => b[1]! >= 192 && b[1]! <= 223;

export class LossyUdpProxy {
  /** Publisher → server traffic (media). */
  readonly toServer: DirectionStats = { forwarded: 0, dropped: 0, reordered: 0, droppedByTimestamp: 0, control: 0 };
  /** Server → publisher traffic (feedback: NACK, PLI, receiver reports). */
  readonly toPublisher: DirectionStats = { forwarded: 0, dropped: 0, reordered: 0, droppedByTimestamp: 0, control: 0 };
  private serverTarget: { host: string; port: number } | undefined;
  private publisherTarget: { host: string; port: number } | undefined;
  private readonly dropTs = new Set<number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly random: () => number;
  private closed = false;
  /** Runtime switch: faults on (the test turns them off to measure the clean path). */
  faults = true;

  private constructor(private readonly opts: LossyProxyOptions, private readonly sideA: dgram.Socket, private readonly sideB: dgram.Socket) {
    this.random = prng(opts.seed);
    sideA.on('message', (msg) => this.relay(msg, this.sideB, this.serverTarget, this.toServer, true));
    sideB.on('message', (msg) => this.relay(msg, this.sideA, this.publisherTarget, this.toPublisher, false));
  }

  static async start(opts: LossyProxyOptions): Promise<LossyUdpProxy> {
    const bind = () => new Promise<dgram.Socket>((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve(s));
    });
    return new LossyUdpProxy(opts, await bind(), await bind());
  }

  /** Port the publisher sends to (stands in for the server). */
  get publisherFacingPort(): number {
    return (this.sideA.address() as AddressInfo).port;
  }

  /** Port the server sends to (stands in for the publisher). */
  get serverFacingPort(): number {
    return (this.sideB.address() as AddressInfo).port;
  }

  /**
   * The offer as the server must see it: every candidate replaced by one host candidate at the
   * relay's server-facing port; the publisher's own IPv4 host candidate becomes the relay's
   * target towards the publisher.
   */
  rewriteOffer(sdp: string): string {
    this.publisherTarget = { host: '127.0.0.1', port: LossyUdpProxy.ipv4HostPort(sdp, 'offer') };
    return LossyUdpProxy.replaceCandidates(sdp, this.serverFacingPort);
  }

  /** The answer as the publisher must see it (the mirror of rewriteOffer). */
  rewriteAnswer(sdp: string): string {
    this.serverTarget = { host: '127.0.0.1', port: LossyUdpProxy.ipv4HostPort(sdp, 'answer') };
    return LossyUdpProxy.replaceCandidates(sdp, this.publisherFacingPort);
  }

  /** Drop every RTP packet (and retransmission) with this RTP timestamp, publisher → server. */
  dropTimestamp(ts: number): void {
    this.dropTs.add(ts >>> 0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.sideA.close();
    this.sideB.close();
  }

  private relay(msg: Buffer, out: dgram.Socket, target: { host: string; port: number } | undefined, stats: DirectionStats, toServer: boolean): void {
    if (this.closed || !target) return;
    const send = () => {
      if (!this.closed) out.send(msg, target.port, target.host);
    };
    if (!isRtpOrRtcp(msg)) {
      stats.control++;
      send();
      return;
    }
    if (toServer && !isRtcp(msg) && this.dropTs.has(msg.readUInt32BE(4))) {
      stats.droppedByTimestamp++;
      return;
    }
    if (this.faults) {
      if (this.random() < this.opts.lossRate) {
        stats.dropped++;
        return;
      }
      if (this.random() < this.opts.reorderRate) {
        stats.reordered++;
        const delay = 1 + Math.floor(this.random() * (this.opts.reorderMaxDelayMs ?? 15));
        const t = setTimeout(() => {
          this.timers.delete(t);
          stats.forwarded++;
          send();
        }, delay);
        this.timers.add(t);
        return;
      }
    }
    stats.forwarded++;
    send();
  }

  /** Port of the first IPv4 UDP host candidate of an SDP. */
  static ipv4HostPort(sdp: string, what: string): number {
    const m = /^a=candidate:\S+ 1 udp \d+ (\d+\.\d+\.\d+\.\d+) (\d+) typ host/im.exec(sdp);
    if (!m) throw new Error(`the ${what} has no IPv4 UDP host candidate to relay to`);
    return Number(m[2]);
  }

  /** Every candidate line replaced by a single host candidate 127.0.0.1:port (in each m-section that had one). */
  static replaceCandidates(sdp: string, port: number): string {
    const out: string[] = [];
    let placed = false;
    for (const line of sdp.split('\r\n')) {
      if (line.startsWith('m=')) placed = false;
      if (line.startsWith('a=candidate:')) {
        if (!placed) out.push(`a=candidate:relay 1 udp 2130706431 127.0.0.1 ${port} typ host`);
        placed = true;
        continue;
      }
      out.push(line);
    }
    return out.join('\r\n');
  }
}
