#!/usr/bin/env python3
"""A WHIP publisher (RFC 9725) on GStreamer's webrtcbin: an independent WebRTC stack (libnice ICE,
GStreamer's DTLS/SRTP, rtpbin) sending a y4m clip, looped, as live 30 fps video in VP8 or H.264
constrained baseline. Used by test/integration/gstWhip.test.ts; also a tool for operators
(docs/operations.md, "Publishing from GStreamer (webrtcbin)").

    /usr/bin/python3 whip_publish.py --endpoint http://localhost:8080/whip --token "$TOKEN" \\
        --codec vp8 --clip clip.y4m [--trickle] [--duration 30]

Signalling: POST the offer (application/sdp; all candidates in it, or none with --trickle and
then one PATCH per candidate as application/trickle-ice-sdpfrag, closed by
a=end-of-candidates), apply the 201's answer, DELETE the Location to end. The script runs until
--duration seconds have passed, stdin says "stop" (or closes), or SIGINT/SIGTERM; it always
DELETEs a session it created before exiting.

Stdout: one JSON object per line, for the test to read:
  {"event":"created","location":…,"etag":…,"answer_codecs":[…]}   after the 201
  {"event":"patch","status":204,"candidates":n,"end":bool}        per PATCH (--trickle)
  {"event":"state","connection":"connected"}                       webrtcbin's connection state
  {"event":"first_rtp","frame":n,"rtp_timestamp":t}               the first RTP packet sent: frame n of
                                                                   the stream (counting from 0, the
                                                                   clip looped) had RTP timestamp t
  {"event":"deleted","status":200,"frames_produced":n,"frames_encoded":e,"keyframes":k,
   "rtp_packets":p,"rtp_timestamps":[…]}                           after the DELETE; the RTP timestamp
                                                                   of every frame payloaded
  {"event":"error","message":…}                                   then exit status 1
Needs Debian's python3-gst-1.0, gir1.2-gst-plugins-bad-1.0 (GstWebRTC, GstSdp),
gstreamer1.0-plugins-{base,good,bad,ugly} (vp8enc, x264enc) and gstreamer1.0-nice.
"""
import argparse
import json
import re
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstWebRTC', '1.0')
gi.require_version('GstSdp', '1.0')
gi.require_version('GstRtp', '1.0')
from gi.repository import GLib, Gst, GstRtp, GstSdp, GstWebRTC  # noqa: E402

FPS = 30
# Encoders tuned like a live sender: VP8 at libvpx's realtime deadline; H.264 constrained baseline
# (no B-frames), x264's zero-latency tune. A keyframe at least every 2 s; PLI from the server
# forces one sooner (webrtcbin turns RTCP PLI/FIR into an upstream force-key-unit event).
ENCODERS = {
    'vp8': ('vp8enc deadline=1 cpu-used=8 target-bitrate=1000000 keyframe-max-dist=60 ! '
            'rtpvp8pay picture-id-mode=15-bit mtu=1200', 'VP8'),
    'h264': ('x264enc tune=zerolatency speed-preset=ultrafast bitrate=1000 key-int-max=60 ! '
             'video/x-h264,profile=constrained-baseline,stream-format=byte-stream ! '
             'rtph264pay config-interval=-1 aggregate-mode=zero-latency mtu=1200', 'H264'),
}


def emit(event, **fields):
    sys.stdout.write(json.dumps({'event': event, **fields}) + '\n')
    sys.stdout.flush()


def read_y4m(path):
    """(width, height, frames as bytes) of a 4:2:0 y4m file."""
    with open(path, 'rb') as f:
        data = f.read()
    header_end = data.index(b'\n')
    header = data[:header_end].decode('ascii').split(' ')
    if header[0] != 'YUV4MPEG2':
        raise ValueError(f'{path} is not a y4m file')
    width = int(next(t[1:] for t in header if t.startswith('W')))
    height = int(next(t[1:] for t in header if t.startswith('H')))
    colorspace = next((t[1:] for t in header if t.startswith('C')), '420jpeg')
    if not colorspace.startswith('420'):
        raise ValueError(f'{path}: only 4:2:0 y4m is supported, not C{colorspace}')
    size = width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)
    frames, pos = [], header_end + 1
    while pos < len(data):
        line_end = data.index(b'\n', pos)
        if not data[pos:line_end].startswith(b'FRAME'):
            raise ValueError(f'{path}: expected FRAME at byte {pos}')
        frames.append(data[line_end + 1:line_end + 1 + size])
        pos = line_end + 1 + size
    if not frames:
        raise ValueError(f'{path} has no frames')
    return width, height, frames


class WhipPublisher:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.width, self.height, self.frames = read_y4m(args.clip)
        enc, self.encoding_name = ENCODERS[args.codec]
        # A camera: feed() pushes a frame every 1/30 s of the pipeline clock whatever happens
        # downstream, and appsrc drops the oldest when two wait (webrtcbin holds media back until
        # the connection is up). The RTP caps ask webrtcbin for NACK, PLI and FIR feedback.
        desc = (
            f'appsrc name=src format=time is-live=true do-timestamp=false block=false max-buffers=2 leaky-type=downstream '
            f'caps=video/x-raw,format=I420,width={self.width},height={self.height},framerate={FPS}/1 ! '
            f'queue max-size-buffers=2 ! {enc} name=pay ! '
            f'application/x-rtp,media=video,encoding-name={self.encoding_name},clock-rate=90000,payload=96,'
            f'rtcp-fb-nack=(boolean)true,rtcp-fb-nack-pli=(boolean)true,rtcp-fb-ccm-fir=(boolean)true ! '
            f'webrtcbin name=webrtc bundle-policy=max-bundle')
        self.pipe = Gst.parse_launch(desc)
        self.webrtc = self.pipe.get_by_name('webrtc')
        self.src = self.pipe.get_by_name('src')
        pay = self.pipe.get_by_name('pay')
        self.frames_encoded = 0
        self.keyframes = 0
        self.rtp_packets = 0
        self.first_rtp_seen = False
        self.frames_produced = 0
        # RTP timestamp of every frame payloaded, in order (what the receiver could get masks for).
        self.sent_timestamps = []
        pay.get_static_pad('sink').add_probe(Gst.PadProbeType.BUFFER, self.on_encoded)
        # Payloaders push buffer lists (all packets of a frame at once) as well as single buffers.
        pay.get_static_pad('src').add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST, self.on_rtp)
        self.location = None
        self.etag = None
        self.mid = None
        self.ice_ufrag = None
        self.ice_pwd = None
        self.pending_candidates = []
        self.gathering_done = False
        self.posted = False
        self.offer_requested = False
        self.sent_end = False
        self.deleted = False
        self.stopping = False
        self.exit_code = 0
        self.webrtc.connect('on-negotiation-needed', self.on_negotiation_needed)
        self.webrtc.connect('on-ice-candidate', self.on_ice_candidate)
        self.webrtc.connect('notify::ice-gathering-state', self.on_gathering_state)
        self.webrtc.connect('notify::connection-state', self.on_connection_state)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect('message::error', self.on_bus_error)

    # --- media -------------------------------------------------------------------------------

    def feed(self):
        """Pushes the clip, looped: frame n at running time n/30 s on the pipeline clock."""
        clock = self.pipe.get_clock()
        base = self.pipe.get_base_time()

        def pts(n):  # rounded up, so that the payloader's 90 kHz timestamp is exactly 3000 n + offset
            return -(-n * Gst.SECOND // FPS)
        n = 0
        while not self.stopping:
            clock.id_wait(clock.new_single_shot_id(base + pts(n)))
            buf = Gst.Buffer.new_wrapped(self.frames[n % len(self.frames)])
            buf.pts = pts(n)
            buf.duration = pts(n + 1) - pts(n)
            if self.src.emit('push-buffer', buf) != Gst.FlowReturn.OK:
                return
            n += 1
            self.frames_produced = n

    def on_encoded(self, _pad, info):
        buf = info.get_buffer()
        self.frames_encoded += 1
        if not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
            self.keyframes += 1
        return Gst.PadProbeReturn.OK

    def on_rtp(self, pad, info):
        if info.type & Gst.PadProbeType.BUFFER_LIST:
            packets = info.get_buffer_list()
            self.rtp_packets += packets.length()
            buf = packets.get(0)
        else:
            buf = info.get_buffer()
            self.rtp_packets += 1
        ok, rtp = GstRtp.RTPBuffer.map(buf, Gst.MapFlags.READ)
        if not ok:
            return Gst.PadProbeReturn.OK
        ts = rtp.get_timestamp()
        rtp.unmap()
        if not self.sent_timestamps or self.sent_timestamps[-1] != ts:
            self.sent_timestamps.append(ts)
        if not self.first_rtp_seen:
            self.first_rtp_seen = True
            # Frame n was pushed with running time n/30 s; encoders may shift PTS (x264enc adds
            # 1000 h), so go through the segment rather than read the PTS as a frame number.
            segment = pad.get_sticky_event(Gst.EventType.SEGMENT, 0).parse_segment()
            running = segment.to_running_time(Gst.Format.TIME, buf.pts)
            frame = round(running * FPS / Gst.SECOND)
            GLib.idle_add(self.emit_once, 'first_rtp', {'frame': frame, 'rtp_timestamp': ts})
        return Gst.PadProbeReturn.OK

    @staticmethod
    def emit_once(event, fields):
        emit(event, **fields)
        return False

    # --- signalling --------------------------------------------------------------------------

    def on_negotiation_needed(self, _element):
        # The offer's codec parameters (H.264's sprop-parameter-sets) come from the payloader's
        # caps: create it once they have reached webrtcbin. Polled, because a probe
        # for the caps event races with it (the event may pass between a check and the probe).
        GLib.timeout_add(20, self.create_offer)

    def create_offer(self):
        """Creates the offer once webrtcbin's sink pad has caps (GLib source: True = call again)."""
        if self.offer_requested or self.stopping:
            return False
        if not self.webrtc.get_static_pad('sink_0').has_current_caps():
            return True
        self.offer_requested = True
        promise = Gst.Promise.new_with_change_func(self.on_offer_created, None)
        self.webrtc.emit('create-offer', None, promise)
        return False

    def on_offer_created(self, promise, _data):
        reply = promise.get_reply()
        if reply is None or reply.has_field('error') or not reply.has_field('offer'):
            err = reply.get_value('error') if reply is not None and reply.has_field('error') else 'no offer'
            GLib.idle_add(self.fail, f'webrtcbin could not create an offer: {err}')
            return
        offer = reply.get_value('offer')
        self.webrtc.emit('set-local-description', offer, Gst.Promise.new())
        sdp = offer.sdp.as_text()
        self.mid = re.search(r'^a=mid:(\S+)', sdp, re.M).group(1)
        self.ice_ufrag = re.search(r'^a=ice-ufrag:(\S+)', sdp, re.M).group(1)
        self.ice_pwd = re.search(r'^a=ice-pwd:(\S+)', sdp, re.M).group(1)
        if self.args.trickle:
            GLib.idle_add(self.post_offer, sdp)

    def on_ice_candidate(self, _element, mline, candidate):
        # Called from webrtcbin's thread; the HTTP work happens on the main loop.
        GLib.idle_add(self.add_candidate, mline, candidate)

    def on_gathering_state(self, _element, _pspec):
        if self.webrtc.get_property('ice-gathering-state') == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            GLib.idle_add(self.gathering_complete)

    def add_candidate(self, mline, candidate):
        if candidate:
            self.pending_candidates.append((mline, candidate))
        if self.args.trickle:
            self.flush_candidates()
        return False

    def gathering_complete(self):
        if self.gathering_done:
            return False
        self.gathering_done = True
        if self.args.trickle:
            self.flush_candidates()
        else:
            self.post_offer(self.offer_with_candidates())
        return False

    def offer_with_candidates(self):
        """The local description with the gathered candidates and end-of-candidates in its m-section."""
        sdp = self.webrtc.get_property('local-description').sdp.as_text()
        lines = [line for line in sdp.split('\r\n') if line]
        if not any(line.startswith('a=candidate:') for line in lines):
            extra = ['a=' + c for _, c in self.pending_candidates] + ['a=end-of-candidates']
            m = next(i for i, line in enumerate(lines) if line.startswith('m='))
            end = next((i for i in range(m + 1, len(lines)) if lines[i].startswith('m=')), len(lines))
            lines[end:end] = extra
        self.pending_candidates.clear()
        return '\r\n'.join(lines) + '\r\n'

    def request(self, method, url, body=None, content_type=None, headers=None):
        """(status, headers, body) of an HTTP request with the bearer token; HTTP errors are answers too."""
        req = urllib.request.Request(url, data=body.encode() if body is not None else None, method=method)
        if self.args.token:
            req.add_header('Authorization', f'Bearer {self.args.token}')
        if content_type:
            req.add_header('Content-Type', content_type)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                return res.status, res.headers, res.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()
        except OSError as e:  # refused, reset, timed out: no HTTP answer at all
            return 0, {}, f'{method} {url} failed: {e}'

    def post_offer(self, sdp):
        if self.posted:
            return False
        self.posted = True
        if self.args.trickle:
            sdp = '\r\n'.join(line for line in sdp.split('\r\n')
                              if not line.startswith(('a=candidate:', 'a=end-of-candidates')))
        status, headers, body = self.request('POST', self.args.endpoint, sdp, 'application/sdp')
        if status != 201:
            return self.fail(f'WHIP POST answered {status}: {body.strip()}')
        location = headers.get('Location')
        if not location:
            return self.fail('WHIP 201 without Location')
        self.location = urllib.parse.urljoin(self.args.endpoint, location)
        self.etag = headers.get('ETag')
        ok, msg = GstSdp.SDPMessage.new_from_text(body)
        if ok != GstSdp.SDPResult.OK:
            return self.fail('the answer is not SDP')
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        promise = Gst.Promise.new_with_change_func(self.on_answer_set, None)
        self.webrtc.emit('set-remote-description', answer, promise)
        codecs = sorted(set(re.findall(r'^a=rtpmap:\d+ ([\w-]+)/', body, re.M)))
        emit('created', location=self.location, etag=self.etag, answer_codecs=codecs)
        if self.args.trickle:
            self.flush_candidates()
        return False

    def on_answer_set(self, promise, _data):
        reply = promise.get_reply()
        if reply is not None and reply.has_field('error'):
            err = reply.get_value('error')
            GLib.idle_add(self.fail, f'webrtcbin refused the answer: {err}')

    def flush_candidates(self):
        """PATCHes the candidates gathered so far (one fragment), then end-of-candidates once gathering is done."""
        if not self.location or self.stopping:
            return
        if not self.pending_candidates and not self.gathering_done:
            return
        if self.gathering_done and self.sent_end and not self.pending_candidates:
            return
        lines = [f'a=ice-ufrag:{self.ice_ufrag}', f'a=ice-pwd:{self.ice_pwd}', 'm=video 9 UDP/TLS/RTP/SAVPF 0', f'a=mid:{self.mid}']
        lines += ['a=' + c for _, c in self.pending_candidates]
        n = len(self.pending_candidates)
        self.pending_candidates.clear()
        if self.gathering_done:
            lines.append('a=end-of-candidates')
            self.sent_end = True
        headers = {'If-Match': self.etag} if self.etag else {}
        status, _, body = self.request('PATCH', self.location, '\r\n'.join(lines) + '\r\n',
                                       'application/trickle-ice-sdpfrag', headers)
        emit('patch', status=status, candidates=n, end=self.gathering_done)
        if status != 204:
            self.fail(f'WHIP PATCH answered {status}: {body.strip()}')

    def on_connection_state(self, _element, _pspec):
        state = self.webrtc.get_property('connection-state')
        name = state.value_nick
        GLib.idle_add(self.emit_once, 'state', {'connection': name})
        if state == GstWebRTC.WebRTCPeerConnectionState.FAILED:
            GLib.idle_add(self.fail, 'the WebRTC connection failed')

    # --- lifetime ----------------------------------------------------------------------------

    def on_bus_error(self, _bus, message):
        err, debug = message.parse_error()
        self.fail(f'GStreamer error from {message.src.get_name()}: {err.message} ({debug})')

    def fail(self, message):
        emit('error', message=message)
        self.exit_code = 1
        self.stop()
        return False

    def stop(self):
        """Ends the session (DELETE) and the pipeline; idempotent."""
        if self.stopping:
            return False
        self.stopping = True
        if not self.location and self.exit_code == 0:
            emit('error', message='stopped before the WHIP session was created')
            self.exit_code = 1
        if self.location and not self.deleted:
            self.deleted = True
            status, _, _ = self.request('DELETE', self.location)
            emit('deleted', status=status, frames_produced=self.frames_produced, frames_encoded=self.frames_encoded,
                 keyframes=self.keyframes, rtp_packets=self.rtp_packets, rtp_timestamps=self.sent_timestamps)
            if status != 200:
                self.exit_code = 1
        self.loop.quit()
        return False

    def watch_stdin(self):
        def read():
            for line in sys.stdin:
                if line.strip() == 'stop':
                    break
            GLib.idle_add(self.stop)
        threading.Thread(target=read, daemon=True).start()

    def run(self):
        self.pipe.set_state(Gst.State.PLAYING)
        if self.pipe.get_state(5 * Gst.SECOND)[1] != Gst.State.PLAYING:
            emit('error', message='the pipeline did not start')
            return 1
        # webrtcbin made a transceiver for the linked sink pad; send only (RFC 9725 publishers).
        # Set once PLAYING (set before, do-nack stalled the pipeline here, GStreamer 1.22); the
        # offer is made on the main loop, which runs only below.
        transceiver = self.webrtc.emit('get-transceiver', 0)
        transceiver.set_property('direction', GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        transceiver.set_property('do-nack', True)  # offer RTX and answer NACKs, like a browser
        threading.Thread(target=self.feed, daemon=True).start()
        self.watch_stdin()
        if self.args.duration > 0:
            GLib.timeout_add(int(self.args.duration * 1000), self.stop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, self.stop)
        self.loop.run()
        self.pipe.set_state(Gst.State.NULL)
        return self.exit_code


def missing_elements():
    return [e for e in ('webrtcbin', 'nicesrc', 'dtlssrtpenc', 'appsrc', 'vp8enc', 'rtpvp8pay', 'x264enc', 'rtph264pay')
            if Gst.ElementFactory.find(e) is None]


def main():
    parser = argparse.ArgumentParser(description='Publish a y4m clip to a WHIP endpoint with GStreamer webrtcbin.')
    parser.add_argument('--endpoint', help='WHIP endpoint URL, e.g. http://localhost:8080/whip')
    parser.add_argument('--token', default='', help='bearer token (MASKSTREAM_WHIP_TOKEN)')
    parser.add_argument('--codec', choices=sorted(ENCODERS), default='vp8')
    parser.add_argument('--clip', help='4:2:0 y4m clip, played in a loop at 30 fps')
    parser.add_argument('--trickle', action='store_true', help='POST the offer without candidates, PATCH them')
    parser.add_argument('--duration', type=float, default=0, help='seconds to publish (0 = until "stop" on stdin)')
    parser.add_argument('--check', action='store_true', help='only check that the GStreamer elements are installed')
    args = parser.parse_args()
    Gst.init(None)
    missing = missing_elements()
    if missing:
        emit('error', message=f'GStreamer elements missing: {", ".join(missing)} (apt-get install gstreamer1.0-plugins-base '
                              'gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-nice)')
        return 1
    if args.check:
        emit('ready', gstreamer=Gst.version_string())
        return 0
    if not args.endpoint or not args.clip:
        parser.error('--endpoint and --clip are required')
    return WhipPublisher(args).run()


if __name__ == '__main__':
    sys.exit(main())
