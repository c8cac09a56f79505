import type { TransportEvent, TransportInput, TransportLogic } from '../association/association.machine.js'
import { TRANSFER_ACK_TIMEOUT_MS } from '../defaults.js'
import { AssociationLostError, BIND_REFUSAL_CODES, TransferTimeoutError } from '../errors.js'
import type { AcceptTransfer } from '../node/inbound-transfer.js'
import type { MtaNode } from '../node/mta-node.js'
import type { TransferLink } from '../ports.js'
import type { TransferAckFrame, TransferMessage, TransferOutcome } from '../protocol/frames.js'
import type { ClockScope } from './virtual-clock.js'

/** How one directed link behaves, as the process backend's proxies do (docs/scenarios.md). */
export type SimLinkMode = 'pass' | 'blackhole' | 'refuse'

interface LinkState { mode: SimLinkMode, latencyMs: number }

/** One incarnation of an MTA as the network sees it: from its start to its kill or stop. */
export interface SimHost {
  readonly name: string
  readonly scope: ClockScope
  node: MtaNode | undefined
  accept: AcceptTransfer | undefined
}

/** One side of an association, as its transport sees it. */
interface End {
  readonly host: SimHost
  readonly assocId: string
  readonly sendBack: (e: TransportEvent) => void
  ended: boolean
}

/** One association's connection: opened by `out`, to `to`'s listener. */
interface Connection {
  readonly from: string
  readonly to: string
  readonly channel: string
  readonly out: End
  in: End | undefined
  bound: boolean
  /** A release is under way: the ends close by the handshake, not by a reset. */
  closing: boolean
  closed: boolean
  link: SimLink | undefined
}


/**
 * The site's network in memory: every association between simulated MTAs, with the link faults
 * the process backend makes with its proxies. Per directed link (`from` opens to `to`): pass
 * (after a latency each way), black hole (nothing arrives: opens, binds and heartbeats time out),
 * refuse (connects are refused, and what was open is reset). What reaches an MTA goes through its
 * clock scope, so a paused MTA answers nothing until it resumes, and a killed one never does;
 * the peers of a killed MTA see a reset, as its kernel's RST reaches them on processes.
 */
export class SimNetwork {
  /**
   * How long a bound association takes to notice that its peer no longer answers: the process
   * transport's heartbeat interval plus its timeout (HEARTBEAT_INTERVAL_MS + HEARTBEAT_TIMEOUT_MS).
   * The simulated MTAs send no heartbeats (one per second per association would be most of a
   * month's work); the network knows when a peer goes silent and ends the association then.
   */
  constructor (private readonly silenceDetectMs: number) {}

  private readonly links = new Map<string, LinkState>()
  private readonly hosts = new Map<string, SimHost>()
  private readonly conns = new Set<Connection>()

  link (from: string, to: string): LinkState {
    let l = this.links.get(`${from}>${to}`)
    if (l === undefined) { l = { mode: 'pass', latencyMs: 0 }; this.links.set(`${from}>${to}`, l) }
    return l
  }

  /** Changes a link; refusing resets what is open on it (the proxy closes its sockets). */
  setMode (from: string, to: string, mode: SimLinkMode): void {
    this.link(from, to).mode = mode
    for (const c of [...this.conns]) {
      if (c.from !== from || c.to !== to) continue
      if (mode === 'refuse') this.reset(c, undefined, 0)
      // A black hole: neither side hears the other's heartbeat answers any more.
      if (mode === 'blackhole' && c.bound) { this.watch(c, c.out); if (c.in !== undefined) this.watch(c, c.in) }
    }
  }

  /** The host was paused: the other side of each of its associations stops hearing heartbeat answers. */
  paused (host: SimHost): void {
    for (const c of this.conns) {
      if (!c.bound) continue
      if (c.out.host === host && c.in !== undefined) this.watch(c, c.in)
      if (c.in?.host === host) this.watch(c, c.out)
    }
  }

  /** True while `end` gets no answer from the other side: the link does not pass, or the other MTA is paused. */
  private silent (c: Connection, end: End): boolean {
    const other = end === c.out ? c.in : c.out
    return this.link(c.from, c.to).mode !== 'pass' || other === undefined || other.host.scope.isPaused
  }

  /** After the heartbeat's interval and timeout, ends the association on `end` if its peer is still silent. */
  private watch (c: Connection, end: End): void {
    this.at(end, this.silenceDetectMs, () => {
      if (c.closed || !this.silent(c, end)) return
      end.ended = true
      end.sendBack({ type: 'transport.failed', kind: 'timeout', reason: 'no heartbeat answer' })
    })
  }

  setLatency (from: string, to: string, ms: number): void {
    this.link(from, to).latencyMs = ms
  }

  /** The host is listening: connects to it reach its node. */
  listen (host: SimHost): void {
    this.hosts.set(host.name, host)
  }

  /**
   * The host ended (killed, or what a clean stop left open): every connection it had is reset
   * for the other side, and connects to it that had not arrived yet are refused.
   */
  drop (host: SimHost): void {
    if (this.hosts.get(host.name) === host) this.hosts.delete(host.name)
    for (const c of [...this.conns]) {
      const mine = c.out.host === host ? c.out : c.in?.host === host ? c.in : undefined
      if (mine !== undefined) {
        mine.ended = true
        this.reset(c, mine, 0)
      } else if (c.to === host.name && c.in === undefined && this.link(c.from, c.to).mode === 'pass') {
        // A connect on its way is refused; one swallowed by a black hole just times out.
        this.closeConn(c)
        this.deliver(c.out, 0, { type: 'transport.failed', kind: 'refused', reason: `connect ECONNREFUSED ${c.to} (simulated)` })
      }
    }
  }

  /** The transport of one host's associations. */
  transport (host: SimHost): TransportLogic {
    return ({ input, sendBack, receive }) => {
      const end: End = { host, assocId: input.assocId, sendBack, ended: false }
      const conn = input.direction === 'outbound' ? this.connect(end, input) : this.attachInbound(end, input)
      if (conn === undefined) return () => { end.ended = true }
      receive(cmd => {
        if (end.ended || conn.closed) return
        if (cmd.type === 'transport.ping') this.ping(conn, end)
        if (cmd.type === 'transport.release') this.release(conn, end)
      })
      return () => {
        end.ended = true
        if (!conn.closed && !conn.closing) this.reset(conn, end, this.latency(conn))
        if (conn.closing) this.closeConn(conn)
      }
    }
  }

  private latency (c: Connection): number {
    return this.link(c.from, c.to).latencyMs
  }

  /** Runs `fn` at `end`'s MTA after `ms` (deferred while it is paused, never after its end). */
  private at (end: End, ms: number, fn: () => void): void {
    end.host.scope.setTimeout(() => { if (!end.ended) fn() }, ms)
  }

  private deliver (end: End, ms: number, e: TransportEvent): void {
    this.at(end, ms, () => {
      if (e.type === 'transport.failed' || e.type === 'transport.closed') end.ended = true
      end.sendBack(e)
    })
  }

  /** Sends from one end to the other over the link: nothing arrives unless the link passes. */
  private over (c: Connection, from: End, fn: (to: End) => void): void {
    const to = from === c.out ? c.in : c.out
    const l = this.link(c.from, c.to)
    if (to === undefined || to.ended || l.mode !== 'pass') return
    this.at(to, l.latencyMs, () => fn(to))
  }

  private connect (out: End, input: TransportInput): Connection | undefined {
    const to = input.peer ?? ''
    const c: Connection = { from: out.host.name, to, channel: input.channel, out, in: undefined, bound: false, closing: false, closed: false, link: undefined }
    const l = this.link(c.from, to)
    const listener = this.hosts.get(to)
    if (l.mode === 'refuse' || listener === undefined) {
      this.deliver(out, l.mode === 'refuse' ? 0 : l.latencyMs, { type: 'transport.failed', kind: 'refused', reason: `connect ECONNREFUSED ${to} (simulated)` })
      return undefined
    }
    this.conns.add(c)
    // A black hole swallows the connect: the open timeout ends it.
    if (l.mode !== 'pass') return c
    listener.scope.setTimeout(() => this.arrive(c, listener), l.latencyMs)
    return c
  }

  /** The connect reached the listener: a control block and an inbound association, or a refusal. */
  private arrive (c: Connection, listener: SimHost, waitedMs = 0): void {
    if (c.closed || this.hosts.get(listener.name) !== listener || listener.node === undefined) return
    // The connection goes to the inbound association with it, as the WebSocket does on processes.
    const refused = listener.node.admitInbound(c.channel, `sim:${c.from}`, c, waitedMs)
    if (refused?.retryInMs !== undefined) {
      // Every caller binding there is within its grace: this one asks again when the oldest's runs out.
      const retry = refused.retryInMs
      listener.scope.setTimeout(() => this.arrive(c, listener, waitedMs + retry), retry)
      return
    }
    const l = this.link(c.from, c.to)
    if (refused === undefined && c.in === undefined) {
      // The association did not take the connection: it ends at once, as a socket with no session does.
      this.reset(c, undefined, l.latencyMs)
      return
    }
    if (refused !== undefined) {
      // Accepted, then closed with a code (as the WebSocket listener does).
      this.closeConn(c)
      this.deliver(c.out, l.latencyMs, { type: 'transport.connected' })
      this.deliver(c.out, l.latencyMs, BIND_REFUSAL_CODES.has(refused.closeCode)
        ? { type: 'transport.failed', kind: 'bind-rejected', reason: `closed ${refused.closeCode}: ${refused.reason}` }
        : { type: 'transport.failed', kind: 'aborted', reason: `connection closed (${refused.closeCode} ${refused.reason})` })
      return
    }
    // The challenge goes back; the caller's bind comes; the bind-back answers it.
    this.over(c, c.in!, out => {
      out.sendBack({ type: 'transport.connected' })
      this.over(c, out, inb => {
        c.bound = true
        inb.sendBack({ type: 'transport.bound', peer: c.from })
        this.over(c, inb, o => {
          c.link = new SimLink(this, c, o)
          o.sendBack({ type: 'transport.bound', peer: c.to, link: c.link })
        })
      })
    })
  }

  private attachInbound (end: End, input: TransportInput): Connection | undefined {
    const c = input.socket as Connection | undefined
    if (c === undefined || c.closed) {
      this.deliver(end, 0, { type: 'transport.failed', kind: 'aborted', reason: 'socket closed before the association started' })
      return undefined
    }
    c.in = end
    end.sendBack({ type: 'transport.connected' })
    return c
  }

  private ping (c: Connection, from: End): void {
    this.over(c, from, to => { this.over(c, to, back => back.sendBack({ type: 'transport.alive' })) })
  }

  /** A clean release: the other side sees the close, then the closer does. */
  private release (c: Connection, from: End): void {
    c.closing = true
    this.over(c, from, to => {
      to.ended = true
      to.sendBack(c.bound ? { type: 'transport.closed' } : { type: 'transport.failed', kind: 'aborted', reason: 'connection closed (1000 released)' })
      this.over(c, to, back => { back.ended = true; back.sendBack({ type: 'transport.closed' }) })
    })
  }

  /** The connection broke without a release: the side still up sees close 1006. */
  private reset (c: Connection, by: End | undefined, ms: number): void {
    if (c.closed) return
    this.closeConn(c)
    for (const e of [c.out, c.in]) {
      if (e === undefined || e === by || e.ended) continue
      this.deliver(e, ms, { type: 'transport.failed', kind: c.bound ? 'reset' : 'aborted', reason: 'connection closed (1006)' })
    }
  }

  private closeConn (c: Connection): void {
    if (c.closed) return
    c.closed = true
    this.conns.delete(c)
    c.link?.fail(`association to ${c.to} ended`)
  }

  /** @internal A transfer frame from the caller, and its acknowledgement back. */
  sendTransfer (c: Connection, from: End, frame: { seq: number, messages: readonly TransferMessage[] }, onReply: (r: TransferAckFrame) => void): void {
    this.over(c, from, to => {
      const accept = to.host.accept
      if (accept === undefined) return
      accept({ type: 'transfer', ...frame }, c.from, c.channel).then(
        reply => { this.over(c, to, back => onReply(reply)) },
        () => undefined // the store was revoked (a kill): no answer, as from a dead process
      )
    })
  }
}

/**
 * The sending half of a bound simulated association, as OutboundLink is on processes: numbers
 * transfers, matches acknowledgements, times out the unanswered, fails what is in flight at the end.
 */
class SimLink implements TransferLink {
  private seq = 0
  private readonly pending = new Map<number, { resolve: (r: TransferOutcome[]) => void, reject: (e: Error) => void, timer: unknown }>()
  /** Why the association ended; the error is made only when a transfer needs it (a stack trace per association costs). */
  private lost: string | undefined

  constructor (private readonly net: SimNetwork, private readonly conn: Connection, private readonly end: End) {}

  get assocId (): string {
    return this.end.assocId
  }

  get open (): boolean {
    return this.lost === undefined
  }

  transfer (messages: readonly TransferMessage[]): Promise<TransferOutcome[]> {
    if (this.lost !== undefined) return Promise.reject(new AssociationLostError(this.lost))
    const seq = ++this.seq
    const scope = this.end.host.scope
    return new Promise((resolve, reject) => {
      const timer = scope.setTimeout(() => {
        this.pending.delete(seq)
        reject(new TransferTimeoutError(this.conn.to, messages, TRANSFER_ACK_TIMEOUT_MS))
      }, TRANSFER_ACK_TIMEOUT_MS)
      this.pending.set(seq, { resolve, reject, timer })
      this.net.sendTransfer(this.conn, this.end, { seq, messages }, reply => {
        const p = this.pending.get(reply.seq)
        if (p === undefined) return
        this.pending.delete(reply.seq)
        scope.clearTimeout(p.timer)
        p.resolve(reply.results)
      })
    })
  }

  /** The association ended: what is in flight is dropped unanswered, as OutboundLink does; the queue hears of the loss from the association's end. */
  fail (reason: string): void {
    if (this.lost !== undefined) return
    this.lost = reason
    for (const p of this.pending.values()) this.end.host.scope.clearTimeout(p.timer)
    this.pending.clear()
  }
}
