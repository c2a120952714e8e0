/** Camera capture. */

export interface Camera {
  readonly stream: MediaStream;
  readonly track: MediaStreamTrack;
  stop(): void;
}

/** The camera could not be opened; `message` says what the user can do about it. */
export class CameraError extends Error {
  override readonly name = 'CameraError';
  /** @param browserError the browser's error name (NotFoundError, NotAllowedError, …), when there was one */
  constructor(message: string, readonly browserError?: string) {
    super(message);
  }
}

/** getUserMedia's failure → a sentence a user can act on (the raw name stays in `cause`). */
export function cameraErrorOf(e: unknown): CameraError {
  const name = e instanceof Error || (typeof DOMException !== 'undefined' && e instanceof DOMException) ? (e as Error).name : '';
  switch (name) {
    case 'NotFoundError':
    case 'DevicesNotFoundError':
      return new CameraError('No camera found — connect a camera (or enable it in the system settings), then press Start.', name);
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return new CameraError('Camera permission denied — allow the camera for this site in the browser\'s site settings, then press Start.', name);
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return new CameraError('The camera could not be started — another application may be using it; close that, then press Start.', name);
    case 'OverconstrainedError':
      return new CameraError('This camera cannot deliver video in a usable size — try another camera, then press Start.', name);
    default:
      return new CameraError(`The camera could not be opened (${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}).`, name || undefined);
  }
}

/** The model works on small inputs; 640×480 @ 30 fps is plenty and cheap to encode. Rejects with a CameraError. */
export async function openCamera(): Promise<Camera> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new CameraError('This page cannot use a camera here: open it over https (or from localhost).');
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
    });
  } catch (e) {
    throw cameraErrorOf(e);
  }
  const track = stream.getVideoTracks()[0];
  if (!track) throw new CameraError('The camera gave no video — try another camera, then press Start.');
  // Motion, not detail: lets the encoder keep the frame rate when bandwidth is short.
  track.contentHint = 'motion';
  return {
    stream,
    track,
    stop: () => stream.getTracks().forEach((t) => t.stop()),
  };
}
