import { randomBytes } from 'node:crypto'
import { WebSocket, type RawData } from 'ws'
import {
  BIND_REFUSAL_CODES, bindProof, clip, closeReason, decodeFrame, encodeFrame, mtaDn, proofsMatch, protocolViolated, securityViolation,
  MalformedFrameError, PROTOCOL_VERSION, ProtocolVersionError, SecurityViolationError, WrongSiteError, XconError,
  type FailureKind, type Frame, type MtaConfig, type TransferAckFrame, type TransferFrame,
  type TransportCommand, type TransportEvent, type TransportInput, type TransportLogic
} from '@xcon/core'
import type { FloodLog } from './flood-log.js'
import { logEvent, type Logger } from './logger.js'
import { OutboundLink } from './outbound-link.js'
import { sendCoalesced } from './send-coalesced.js'

/** What an association proves on bind and where it connects: the site's, or one connector's. */
export interface ChannelAuth {
  /** The path of the listener: /xcon/association or /xcon/connector/NAME. */
  path: string
  secret: string
  /** The realm the proofs are bound to: the site name, or connector:NAME. */
  realm: string
  /** Who may bind on this channel: a server of this site, or a bridgehead across the connector. */
  mayBind: (server: string, site: string) => boolean
}

/** The channel settings of an MTA: `site`, or a connector's name. */
export function channelAuth (config: MtaConfig, channel: string): ChannelAuth | undefined {
  if (channel === 'site') {
    return {
      path: '/xcon/association',
      secret: config.site.secret,
      realm: config.site.name,
      mayBind: (server, site) => site === config.site.name && config.site.servers.includes(server) && server !== config.server.name
    }
  }
  const c = config.topology.connectors[channel]
  if (c === undefined || !c.bridgeheads[config.site.name]?.includes(config.server.name)) return undefined
  const far = c.sites[0] === config.site.name ? c.sites[1] : c.sites[0]
  return {
    path: `/xcon/connector/${encodeURIComponent(c.name)}`,
    secret: c.secret,
    realm: `connector:${c.name}`,
    mayBind: (server, site) => site === far && (c.bridgeheads[far] ?? []).includes(server)
  }
}

/** What the transports need from the MTA around them. */
export interface TransportDeps {
  config: MtaConfig
  log: Logger
  /** Stores an inbound transfer and answers it (only after the store is durable). */
  acceptTransfer: (frame: TransferFrame, peer: string, channel: string) => Promise<TransferAckFrame>
  transferTimeoutMs: number
  /** Counts what unauthenticated callers do, for one summary line now and then. */
  floods: FloodLog
  /** An inbound caller bound: its connection is never displaced for a newer one. */
  proven: (ws: WebSocket) => void
}

interface CallbackArgs {
  input: TransportInput
  sendBack: (e: TransportEvent) => void
  receive: (listener: (cmd: TransportCommand) => void) => void
}

/** Maps a socket error to the failure kind the pool's leak model reads. */
function kindOfSocketError (err: NodeJS.ErrnoException): FailureKind {
  // A stopped container's name stops resolving: to its peers that is nothing listening, as a refusal is.
  if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return 'refused'
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return 'reset'
  if (err.code === 'ETIMEDOUT' || err.code === 'EHOSTUNREACH') return 'timeout'
  return 'aborted'
}

/**
 * Guards a transport so it reports at most one ending, and wires the common socket events.
 * `ctx.unproven()` is true while an inbound caller has not shown that it is a server of the
 * site: any failure then is `unauthenticated`, which the leak policy leaves alone by default.
 */
function session (ws: WebSocket, sendBack: (e: TransportEvent) => void, deps: TransportDeps, ctx: { controlBlock: number, label: string, unproven: () => boolean }) {
  let ended = false
  let bound = false
  const end = (e: TransportEvent): void => {
    if (ended) return
    ended = true
    sendBack(e)
  }
  const fail = (kind: FailureKind, reason: string): void => end({ type: 'transport.failed', kind: ctx.unproven() ? 'unauthenticated' : kind, reason: clip(reason, 200) })
  /** Ends the association for a peer that broke the protocol: logged once (4282), then closed. */
  const violation = (err: XconError | Error): void => {
    if (ended) return
    const closeCode = err instanceof XconError && err.closeCode !== undefined ? err.closeCode : 4400
    const text = clip(err.message, 200)
    // From a caller that never proved anything, only the first few a minute are logged one by one (FloodLog).
    if (!ctx.unproven() || deps.floods.admit('protocol violations before bind', text)) {
      logEvent(deps.log, protocolViolated(ctx.controlBlock, text), { assoc: ctx.label, code: (err as XconError).code })
    }
    if (ws.readyState === WebSocket.OPEN) ws.close(closeCode, closeReason(text))
    fail('aborted', text)
  }
  ws.on('error', (err: NodeJS.ErrnoException) => {
    if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_')) violation(err)
    else fail(kindOfSocketError(err), err.message)
  })
  ws.on('close', (code, reason) => {
    const text = clip(reason.toString(), 123)
    if (bound && code === 1000) end({ type: 'transport.closed' })
    else if (!bound && BIND_REFUSAL_CODES.has(code)) fail('bind-rejected', `closed ${code}${text === '' ? '' : `: ${text}`}`)
    else fail(bound ? 'reset' : 'aborted', `connection closed (${code}${text === '' ? '' : ` ${text}`})`)
  })
  ws.on('pong', () => { if (!ended) sendBack({ type: 'transport.alive' }) })
  const decode = (data: RawData): Frame | undefined => {
    try {
      return decodeFrame(data as Buffer, deps.config.maxFrameBytes)
    } catch (err) {
      violation(err as Error)
      return undefined
    }
  }
  return {
    fail,
    violation,
    decode,
    bound: (peer: string, link?: OutboundLink) => { bound = true; sendBack({ type: 'transport.bound', peer, link }) },
    get ended () { return ended },
    command: (cmd: TransportCommand) => {
      if (cmd.type === 'transport.ping' && ws.readyState === WebSocket.OPEN) ws.ping()
      if (cmd.type === 'transport.release' && ws.readyState === WebSocket.OPEN) ws.close(1000, 'released')
      if (cmd.type === 'transport.release' && ws.readyState === WebSocket.CONNECTING) ws.terminate()
    },
    cleanup: () => {
      ended = true
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate()
    }
  }
}

/**
 * The calling side of an intra-site association, over a WebSocket to the peer's listener:
 * connect, answer the challenge with a bind, check the listener's bind-back, then carry transfers.
 */
function outbound (deps: TransportDeps, { input, sendBack, receive }: CallbackArgs): () => void {
  {
    const { config } = deps
    const peer = input.peer === undefined ? undefined : config.topology.servers[input.peer]
    const auth = channelAuth(config, input.channel)
    if (peer === undefined || peer.port === undefined || auth === undefined) {
      sendBack({ type: 'transport.failed', kind: 'aborted', reason: `no address for ${input.peer ?? 'unknown peer'} on channel ${input.channel}` })
      return () => undefined
    }
    const address = config.peerAddresses[peer.name] ?? { host: peer.host, port: peer.port }
    const ws = new WebSocket(`ws://${address.host}:${address.port}${auth.path}`, { maxPayload: config.maxFrameBytes, perMessageDeflate: false })
    let link: OutboundLink | undefined
    // 1009 from the peer: it refused a frame as too large for its own limit. Listened for before
    // the session's own close listener, which ends the association and fails what is in flight.
    ws.on('close', (code) => { if (code === 1009) link?.fail('the peer refused a frame as too large (1009)', true) })
    const s = session(ws, sendBack, deps, { controlBlock: input.controlBlock, label: input.assocId, unproven: () => false })
    let nonce = ''
    ws.on('open', () => sendBack({ type: 'transport.connected' }))
    ws.on('message', (data: RawData) => {
      const frame = s.decode(data)
      if (frame === undefined) return
      switch (frame.type) {
        case 'challenge':
          if (frame.v !== PROTOCOL_VERSION) {
            // A listener of another version: say so, once, and bind nothing (docs/protocol.md).
            const err = new ProtocolVersionError(peer.name, frame.v, PROTOCOL_VERSION)
            deps.log.warn({ category: 'Interface', assoc: input.assocId, peer: peer.name, code: err.code }, err.message)
            ws.close(err.closeCode, closeReason(err.message))
            s.fail('bind-rejected', err.message)
            return
          }
          nonce = frame.nonce
          ws.send(encodeFrame({
            type: 'bind', v: PROTOCOL_VERSION, server: config.server.name, site: config.site.name, build: config.server.build,
            proof: bindProof(auth.secret, 'bind', auth.realm, config.server.name, peer.name, nonce)
          }))
          break
        case 'bind_ok': {
          const expected = bindProof(auth.secret, 'bind-back', auth.realm, config.server.name, peer.name, nonce)
          if (nonce === '' || frame.server !== peer.name || !proofsMatch(expected, frame.proof)) {
            // The listener does not know the site secret: the bind-back fails (Q303156), a security violation here too.
            logEvent(deps.log, securityViolation(mtaDn(config.organization, peer.site, clip(frame.server, 64)), input.controlBlock), { assoc: input.assocId, peer: peer.name, channel: input.channel })
            ws.close(4401, 'bind-back proof does not match the site secret')
            s.fail('bind-rejected', 'bind-back proof does not match the site secret')
            return
          }
          link = new OutboundLink(input.assocId, peer.name, ws, deps.transferTimeoutMs, config.maxFrameBytes, s.violation)
          // The link goes to the queue in the bound event (association, pool, MTA): no map to look it up in.
          s.bound(peer.name, link)
          break
        }
        case 'bind_error':
          s.fail('bind-rejected', `${frame.code}: ${frame.text}`)
          if (ws.readyState === WebSocket.OPEN) ws.close(1000)
          break
        case 'transfer_ack':
          if (link === undefined) s.violation(new MalformedFrameError(`${frame.type} before bind`))
          else link.onAck(frame)
          break
        default:
          s.violation(new MalformedFrameError(`unexpected ${frame.type} frame on an outbound association`))
      }
    })
    receive(s.command)
    return () => {
      link?.fail('association ended')
      s.cleanup()
    }
  }
}

/**
 * The listening side: challenge the caller, check its site and its proof of the site secret
 * (a wrong one is event 9297), answer with a bind-back proof, then store and acknowledge transfers.
 */
function inbound (deps: TransportDeps, { input, sendBack, receive }: CallbackArgs): () => void {
  {
    const { config } = deps
    // The accepted socket comes with the association that owns it (InboundAcceptance).
    const ws = input.socket instanceof WebSocket ? input.socket : undefined
    const auth = channelAuth(config, input.channel)
    if (ws === undefined || auth === undefined) {
      sendBack({ type: 'transport.failed', kind: 'aborted', reason: 'socket closed before the association started' })
      return () => undefined
    }
    const nonce = randomBytes(16).toString('hex')
    let caller: string | undefined
    /** A server of the channel that named itself in a well-formed bind (its secret may still be wrong). */
    let named = false
    const s = session(ws, sendBack, deps, { controlBlock: input.controlBlock, label: input.assocId, unproven: () => !named })
    sendBack({ type: 'transport.connected' })
    ws.send(encodeFrame({ type: 'challenge', v: PROTOCOL_VERSION, server: config.server.name, nonce }))
    ws.on('message', (data: RawData) => {
      const frame = s.decode(data)
      if (frame === undefined) return
      if (frame.type === 'bind' && caller === undefined) {
        const refuse = (err: XconError): void => {
          const text = clip(err.message, 200)
          ws.send(encodeFrame({ type: 'bind_error', code: err.code, text }))
          ws.close(err.closeCode ?? 4401, closeReason(text))
          s.fail('bind-rejected', text)
        }
        if (!auth.mayBind(frame.server, frame.site)) {
          refuse(new WrongSiteError(input.channel === 'site'
            ? `${clip(frame.server, 20)} of site ${clip(frame.site, 20)} is not another server of site ${config.site.name}`
            : `${clip(frame.server, 20)} of site ${clip(frame.site, 20)} is not a bridgehead across connector ${input.channel}`))
          return
        }
        named = true
        if (frame.v !== PROTOCOL_VERSION) {
          deps.log.warn({ category: 'Interface', assoc: input.assocId, peer: frame.server, code: 'XCON_ERR_PROTOCOL_VERSION' }, `bind from ${frame.server} refused: it speaks association protocol version ${frame.v}, this MTA ${PROTOCOL_VERSION}`)
          refuse(new ProtocolVersionError(frame.server, frame.v, PROTOCOL_VERSION))
          return
        }
        const expected = bindProof(auth.secret, 'bind', auth.realm, frame.server, config.server.name, nonce)
        if (!proofsMatch(expected, frame.proof)) {
          logEvent(deps.log, securityViolation(mtaDn(config.organization, frame.site, frame.server), input.controlBlock), { assoc: input.assocId, peer: frame.server, channel: input.channel })
          refuse(new SecurityViolationError(`bind from ${frame.server} does not prove the site's service-account secret`))
          return
        }
        caller = frame.server
        deps.proven(ws)
        ws.send(encodeFrame({
          type: 'bind_ok', server: config.server.name, site: config.site.name, build: config.server.build,
          proof: bindProof(auth.secret, 'bind-back', auth.realm, frame.server, config.server.name, nonce)
        }))
        s.bound(frame.server)
      } else if (frame.type === 'transfer' && caller !== undefined) {
        const from = caller
        deps.acceptTransfer(frame, from, input.channel).then(reply => {
          if (ws.readyState === WebSocket.OPEN) sendCoalesced(ws, encodeFrame(reply))
        }, (err: Error) => deps.log.error({ err, assoc: input.assocId }, 'transfer handling failed'))
      } else {
        s.violation(new MalformedFrameError(`unexpected ${frame.type} frame ${caller === undefined ? 'before bind' : 'after bind'} on an inbound association`))
      }
    })
    receive(s.command)
    return s.cleanup
  }
}

/** The transport of every association of this MTA: a WebSocket, calling or listening by direction. */
export function wsTransport (deps: TransportDeps): TransportLogic {
  return (args) => args.input.direction === 'inbound' ? inbound(deps, args) : outbound(deps, args)
}
