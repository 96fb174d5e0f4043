// The run's sound in the browser: the server's sound socket (`started.display.audio`) carries
// one Opus packet per binary message (10 ms of 48 kHz stereo). WebCodecs decodes them and Web
// Audio plays each piece at a time kept by `PlaybackClock`, a small jitter buffer that grows
// after the sound ran dry and drops old sound after a stall, so it never falls behind.
// Framework-free: the IDE's display pane and any other client use it the same way.

/** How far ahead of "now" sound is scheduled, in seconds: adapted between the bounds. */
export interface JitterSettings {
  initial: number
  min: number
  max: number
  /** Added to the target after the sound ran dry; taken off after `calmSeconds` without. */
  step: number
  calmSeconds: number
  /** Scheduled further ahead than target + slack: the old sound is dropped (after a stall). */
  slack: number
}

export const DEFAULT_JITTER: JitterSettings = { initial: 0.04, min: 0.02, max: 0.2, step: 0.02, calmSeconds: 5, slack: 0.08 }

/** Where each piece of sound goes on the AudioContext's clock; pure, so it is tested alone. */
export class PlaybackClock {
  target: number
  private next = 0
  private lastDry = 0
  private started = false
  underruns = 0
  dropped = 0

  constructor(private readonly settings: JitterSettings = DEFAULT_JITTER) {
    this.target = settings.initial
  }

  /** When a piece of `duration` s arriving at `now` should start, or null to drop it. */
  place(now: number, duration: number): number | null {
    if (this.next < now) {
      // Ran dry (or first piece): start again `target` ahead, a bit further if it keeps happening.
      if (this.started) {
        this.underruns += 1
        this.target = Math.min(this.settings.max, this.target + this.settings.step)
        this.lastDry = now
      }
      this.started = true
      this.next = now + this.target
    } else if (this.next - now > this.target + this.settings.slack) {
      this.dropped += 1
      return null
    } else if (now - this.lastDry > this.settings.calmSeconds && this.target > this.settings.min) {
      this.target = Math.max(this.settings.min, this.target - this.settings.step)
      this.lastDry = now
    }
    const at = this.next
    this.next += duration
    return at
  }

  /** Stop: what was scheduled is gone, the next piece starts afresh. */
  reset(): void {
    this.next = 0
    this.started = false
  }
}

/** The parts of Web Audio and WebCodecs the link uses, so tests can give fakes. */
export interface AudioLinkOptions {
  context: AudioContext
  openSocket?(url: string): WebSocket
  createDecoder?(init: AudioDecoderInit): AudioDecoder
  jitter?: JitterSettings
}

const SAMPLE_RATE = 48000
const CHANNELS = 2

export class AudioLink {
  readonly output: GainNode
  readonly clock: PlaybackClock
  packets = 0
  bytes = 0
  private socket: WebSocket | null = null
  private decoder: AudioDecoder | null = null
  private playing = new Set<AudioBufferSourceNode>()
  private timestamp = 0

  constructor(private readonly options: AudioLinkOptions) {
    this.output = options.context.createGain()
    this.output.connect(options.context.destination)
    this.clock = new PlaybackClock(options.jitter)
  }

  /** Listen to one run's sound socket (a full ws(s) URL with its ticket); replaces any other. */
  connect(url: string): void {
    this.close()
    const decoder = (this.options.createDecoder ?? ((init) => new AudioDecoder(init)))({
      output: (data) => this.play(data),
      error: () => this.close(),
    })
    decoder.configure({ codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: CHANNELS })
    const socket = (this.options.openSocket ?? ((u) => new WebSocket(u, 'binary')))(url)
    socket.binaryType = 'arraybuffer'
    socket.onmessage = (event: MessageEvent) => this.receive(event.data as ArrayBuffer)
    this.socket = socket
    this.decoder = decoder
  }

  /** Stop at once: everything scheduled is cut, and the socket is let go. */
  close(): void {
    this.socket?.close()
    this.socket = null
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close()
    this.decoder = null
    for (const source of this.playing) source.stop()
    this.playing.clear()
    this.clock.reset()
  }

  set muted(muted: boolean) {
    this.output.gain.value = muted ? 0 : 1
  }

  private receive(packet: ArrayBuffer): void {
    if (!this.decoder || this.decoder.state !== 'configured') return
    this.packets += 1
    this.bytes += packet.byteLength
    this.decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: this.timestamp, data: packet }))
    this.timestamp += 10_000   // microseconds; only their order matters to the decoder
  }

  private play(data: AudioData): void {
    const context = this.options.context
    const duration = data.numberOfFrames / data.sampleRate
    const at = this.clock.place(context.currentTime, duration)
    if (at === null || context.state !== 'running') {
      data.close()
      return
    }
    const buffer = context.createBuffer(data.numberOfChannels, data.numberOfFrames, data.sampleRate)
    for (let channel = 0; channel < data.numberOfChannels; channel += 1) {
      const plane = new Float32Array(data.numberOfFrames)
      data.copyTo(plane, { planeIndex: channel, format: 'f32-planar' })
      buffer.copyToChannel(plane, channel)
    }
    data.close()
    const source = context.createBufferSource()
    source.buffer = buffer
    source.connect(this.output)
    source.onended = () => this.playing.delete(source)
    this.playing.add(source)
    source.start(at)
  }
}
