/** Camera capture. */

export interface Camera {
  readonly stream: MediaStream;
  readonly track: MediaStreamTrack;
  stop(): void;
}

/** The model works on small inputs; 640×480 @ 30 fps is plenty and cheap to encode. */
export async function openCamera(): Promise<Camera> {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('getUserMedia is unavailable (the page must be served over https or from localhost)');
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
  });
  const track = stream.getVideoTracks()[0];
  if (!track) throw new Error('the camera stream has no video track');
  // Motion, not detail: lets the encoder keep the frame rate when bandwidth is short.
  track.contentHint = 'motion';
  return {
    stream,
    track,
    stop: () => stream.getTracks().forEach((t) => t.stop()),
  };
}
