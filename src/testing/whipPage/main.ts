/**
 * A WHIP publisher page built on @eyevinn/whip-web-client (a WHIP client none of us wrote),
 * bundled with esbuild by the WHIP e2e test and by `npm run bench:browsers`, served from a
 * different origin than the server.
 * Query: ?endpoint=<WHIP endpoint URL>&token=<bearer token>[&audio=1][&preview=0]. preview=0:
 * publish only, the camera is not shown (the benchmark: rendering costs the browser CPU the
 * server needs). Exposes window.__whip for the test.
 */
import { WHIPClient } from '@eyevinn/whip-web-client';

interface WhipPageState {
  state: 'starting' | 'publishing' | 'stopped' | 'failed';
  /** The WHIP session URL from the 201's Location. */
  resource: string | null;
  error: string | null;
  connectionState: string;
  stop?: () => Promise<void>;
}

const state: WhipPageState = { state: 'starting', resource: null, error: null, connectionState: 'new' };
(window as unknown as { __whip: WhipPageState }).__whip = state;

async function start(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const endpoint = params.get('endpoint');
  if (!endpoint) throw new Error('missing ?endpoint=');
  // ?audio=1: offer audio too, as most WHIP publishers do (the server answers it inactive).
  const audio = params.get('audio') === '1';
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 30 }, audio });
  if (params.get('preview') !== '0') (document.querySelector('video') as HTMLVideoElement).srcObject = stream;
  // iceServers: [] — no STUN on a machine without network (the client's default is a public STUN server).
  const client = new WHIPClient({ endpoint, opts: { debug: false, iceServers: [], authkey: params.get('token') ?? undefined } });
  let poll: ReturnType<typeof setInterval> | undefined;
  state.stop = async () => {
    // First stop polling: destroy() nulls the client's peer connection before its DELETE
    // returns, and getICEConnectionState() then throws (a page error the test would report).
    clearInterval(poll);
    await client.destroy();
    state.state = 'stopped';
  };
  await client.ingest(stream);
  state.resource = await client.getResourceUrl();
  state.state = 'publishing';
  poll = setInterval(() => {
    state.connectionState = client.getICEConnectionState();
  }, 200);
}

start().catch((e: Error) => {
  state.state = 'failed';
  state.error = e.message;
});
