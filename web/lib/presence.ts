// Which other tabs of this browser have the same project open (BroadcastChannel), so a tab can say
// "also open in another tab" instead of two tabs quietly taking turns at the same files.

type Message = { type: 'hello' | 'here' | 'bye'; project: string; tab: string }

export class Presence {
  private channel: BroadcastChannel | null
  private project = ''
  private readonly tab = Math.random().toString(36).slice(2)
  private others = new Set<string>()

  constructor(private readonly onChange: (othersOpen: boolean) => void, name = 'pyplay.presence') {
    this.channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(name)
    if (this.channel) this.channel.onmessage = (event: MessageEvent<Message>) => this.receive(event.data)
  }

  /** This tab now has `project` open (leaves the previous one). */
  open(project: string): void {
    if (project === this.project) return
    this.leave()
    this.project = project
    this.post('hello')
  }

  leave(): void {
    if (this.project) this.post('bye')
    this.project = ''
    this.setOthers(new Set())
  }

  close(): void {
    this.leave()
    this.channel?.close()
    this.channel = null
  }

  private receive(message: Message): void {
    if (typeof message?.tab !== 'string' || message.project !== this.project || !this.project) return
    const others = new Set(this.others)
    if (message.type === 'bye') others.delete(message.tab)
    else others.add(message.tab)
    if (message.type === 'hello') this.post('here')
    this.setOthers(others)
  }

  private setOthers(others: Set<string>): void {
    const changed = (others.size > 0) !== (this.others.size > 0)
    this.others = others
    if (changed) this.onChange(others.size > 0)
  }

  private post(type: Message['type']): void {
    this.channel?.postMessage({ type, project: this.project, tab: this.tab } satisfies Message)
  }
}
