/**
 * The WebRTC side: a send-only camera transceiver, the `masks` data channel and the sender
 * tap, negotiated with the server over the signaling socket (trickle ICE towards the server;
 * the server's candidates come inside its answer).
 */

import { MASKS_CHANNEL_LABEL, type ServerMessage } from '../src/shared/protocol.js';
import { SignalingClient } from './signaling.js';
import { attachSenderTap, chooseTapMode, tapPeerConfig, type SenderTap } from './senderTap.js';
import type { EncodedObservation } from './timestampMapper.js';
import type { VideoCodec } from './params.js';

export type Answer = Extract<ServerMessage, { type: 'answer' }>;

export interface PublishOptions {
  readonly signalUrl: string;
  readonly stream: MediaStream;
  readonly track: MediaStreamTrack;
  readonly iceServers: RTCIceServer[];
  readonly codec: VideoCodec;
  /** Bearer token, sent in the offer (src/signaling/auth.ts); undefined when the server needs none. */
  readonly token?: string | undefined;
  readonly onObservation: (o: EncodedObservation) => void;
  readonly onError: (message: string) => void;
  /** The session ended: by the server (bye/error), the socket, or ICE failure. */
  readonly onEnded: (reason: string) => void;
  readonly onConnectionState?: (s: RTCPeerConnectionState) => void;
  readonly answerTimeoutMs?: number;
}

export interface Publication {
  readonly pc: RTCPeerConnection;
  readonly channel: RTCDataChannel;
  readonly answer: Answer;
  readonly tap: SenderTap;
  readonly codec: string;
  close(): void;
}

/** Puts the wanted codec family first, keeping everything else (rtx, red, fec) after it. */
export function preferCodec(codecs: RTCRtpCodec[], codec: VideoCodec): RTCRtpCodec[] {
  const mime = codec === 'h264' ? 'video/h264' : 'video/vp8';
  const wanted = codecs.filter((c) => c.mimeType.toLowerCase() === mime);
  if (codec === 'h264') {
    // Constrained baseline with packetization-mode=1 is what every decoder takes.
    const score = (c: RTCRtpCodec) => (/packetization-mode=1/.test(c.sdpFmtpLine ?? '') ? 0 : 2) + (/profile-level-id=42e0/.test(c.sdpFmtpLine ?? '') ? 0 : 1);
    wanted.sort((a, b) => score(a) - score(b));
  }
  return [...wanted, ...codecs.filter((c) => c.mimeType.toLowerCase() !== mime)];
}

export async function publish(o: PublishOptions): Promise<Publication> {
  const tapMode = chooseTapMode();
  const pc = new RTCPeerConnection({ iceServers: o.iceServers, ...tapPeerConfig(tapMode) });
  let sig: SignalingClient | undefined;
  let tap: SenderTap | undefined;
  let ended = false;
  const close = () => {
    if (ended) return;
    ended = true;
    if (sig?.open) sig.send({ type: 'bye' });
    sig?.close();
    tap?.close();
    pc.close();
  };
  const end = (reason: string) => {
    if (ended) return;
    close();
    o.onEnded(reason);
  };

  try {
    const transceiver = pc.addTransceiver(o.track, { direction: 'sendonly', streams: [o.stream] });
    const caps = RTCRtpReceiver.getCapabilities('video') ?? RTCRtpSender.getCapabilities('video');
    if (caps && typeof transceiver.setCodecPreferences === 'function') transceiver.setCodecPreferences(preferCodec(caps.codecs, o.codec));
    tap = attachSenderTap(transceiver.sender, tapMode, o.onObservation, o.onError);

    // Unordered, no retransmits: a mask is only useful for the frame it belongs to, so a late
    // mask is worthless, and a retransmitted one would hold back newer masks behind it.
    const channel = pc.createDataChannel(MASKS_CHANNEL_LABEL, { ordered: false, maxRetransmits: 0 });
    channel.binaryType = 'arraybuffer';

    sig = await SignalingClient.connect(o.signalUrl);
    const s = sig;
    s.onProtocolError = o.onError;

    // Our candidates are held until the answer has been applied: the server can only add a
    // candidate once it has set our offer, and a rejected early candidate is a needless error.
    // On a LAN/loopback this costs one signaling round trip at most.
    let answered = false;
    const held: (RTCIceCandidate | null)[] = [];
    const sendCandidate = (c: RTCIceCandidate | null) => {
      if (c === null) s.send({ type: 'candidate', candidate: '' });
      else s.send({ type: 'candidate', candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex });
    };
    pc.onicecandidate = (ev) => {
      if (answered) sendCandidate(ev.candidate);
      else held.push(ev.candidate);
    };

    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const answerP = s.waitFor('answer', o.answerTimeoutMs ?? 15_000);
    s.send({ type: 'offer', sdp: pc.localDescription!.sdp, ...(o.token ? { token: o.token } : {}) });
    const answer = await answerP;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    answered = true;
    for (const c of held.splice(0)) sendCandidate(c);

    s.onMessage = (m) => {
      if (m.type === 'bye') end(`server said bye (${m.reason})`);
      // Fatal server errors also close the socket (handled below); others are reported.
      else if (m.type === 'error') o.onError(`server error ${m.code}: ${m.message}`);
    };
    s.onClose = (info) => {
      if (!info.expected) end(`signaling closed (code ${info.code})`);
    };
    pc.onconnectionstatechange = () => {
      o.onConnectionState?.(pc.connectionState);
      if (pc.connectionState === 'failed') end('ICE/DTLS connection failed');
    };

    const negotiated = pc.getTransceivers()[0]?.sender.getParameters().codecs[0]?.mimeType ?? 'unknown';
    return { pc, channel, answer, tap, codec: negotiated, close };
  } catch (e) {
    close();
    throw e;
  }
}
