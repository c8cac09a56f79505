import { assign, emit, fromCallback, sendTo, setup, type CallbackActorLogic } from 'xstate'
import type { AssociationBoundEvent, AssociationEndedEvent, Direction, FailureKind } from './association.events.js'

/** Real-time limits of one association (not Exchange values, so not scaled). */
export interface AssociationTiming {
  openTimeoutMs: number
  bindTimeoutMs: number
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
  releaseTimeoutMs: number
}

export interface AssociationInput {
  assocId: string
  peer: string | undefined
  direction: Direction
  /** `site` for intra-site, else the connector's name. */
  channel: string
  controlBlock: number
  timing: AssociationTiming
  /** Inbound only: the connection the listener accepted (a WebSocket, or the simulator's), opaque here. */
  socket?: unknown
}

/** What the transport actor is started with. */
export interface TransportInput {
  assocId: string
  peer: string | undefined
  direction: Direction
  channel: string
  controlBlock: number
  /** Inbound only: the accepted connection, handed over with the association, not through a map. */
  socket?: unknown
}

/** Events a transport reports to its association. */
export type TransportEvent =
  | { type: 'transport.connected' }
  /** `link`: what the shell sends transfers through, opaque to core; it travels to the queue in the bound events. */
  | { type: 'transport.bound'; peer: string; link?: unknown }
  | { type: 'transport.failed'; kind: FailureKind; reason: string }
  | { type: 'transport.closed' }
  | { type: 'transport.alive' }

/** Commands an association gives its transport. */
export type TransportCommand = { type: 'transport.ping' } | { type: 'transport.release' }

/** What carries an association: a WebSocket in the process, an in-memory link in the simulator. */
export type TransportLogic = CallbackActorLogic<TransportCommand, TransportInput>

/** `assoc.displace`: a newer caller needs the control block of this inbound association, which has not bound. */
export type AssociationEvent = TransportEvent | { type: 'assoc.release' } | { type: 'assoc.displace', reason: string }

export interface AssociationContext extends AssociationInput {
  outcome: 'released' | FailureKind
  reason: string
  /** The shell's handle of a bound outbound association (opaque here). */
  link: unknown
}

/**
 * One association: connect, bind, then stay bound with heartbeats until released or broken.
 * All I/O is in the `transport` actor, which the MTA provides (a WebSocket) and tests replace
 * (an in-memory network); all waiting is in named delays, so a SimulatedClock drives it in tests.
 * It tells its owner (whoever started it, through `actor.on`) `assoc.bound` at most once and
 * `assoc.ended` exactly once.
 */
export const associationMachine = setup({
  types: {
    context: {} as AssociationContext,
    events: {} as AssociationEvent,
    input: {} as AssociationInput,
    emitted: {} as AssociationBoundEvent | AssociationEndedEvent
  },
  actions: {
    fail: assign((_, params: { kind: FailureKind, reason: string }) => ({ outcome: params.kind, reason: params.reason })),
    /** No bind in time: for a caller of ours a timeout; for one that called us, a caller that never proved the secret. */
    failBind: assign(({ context }, params: { reason: string }) => ({ outcome: context.direction === 'inbound' ? 'unauthenticated' as const : 'timeout' as const, reason: params.reason }))
  },
  guards: {
    inbound: ({ context }) => context.direction === 'inbound'
  },
  actors: {
    // Placeholder: a transport that never answers. The MTA and the tests provide real ones.
    transport: fromCallback<TransportCommand, TransportInput>(() => undefined)
  },
  delays: {
    openTimeout: ({ context }) => context.timing.openTimeoutMs,
    bindTimeout: ({ context }) => context.timing.bindTimeoutMs,
    heartbeatInterval: ({ context }) => context.timing.heartbeatIntervalMs,
    heartbeatTimeout: ({ context }) => context.timing.heartbeatTimeoutMs,
    releaseTimeout: ({ context }) => context.timing.releaseTimeoutMs
  }
}).createMachine({
  id: 'association',
  context: ({ input }) => ({ ...input, outcome: 'released', reason: '', link: undefined }),
  invoke: {
    id: 'transport',
    src: 'transport',
    input: ({ context }) => ({ assocId: context.assocId, peer: context.peer, direction: context.direction, channel: context.channel, controlBlock: context.controlBlock, socket: context.socket })
  },
  initial: 'connecting',
  on: {
    'transport.failed': { target: '.failed', actions: assign({ outcome: ({ event }) => event.kind, reason: ({ event }) => event.reason }) }
  },
  states: {
    connecting: {
      after: { openTimeout: { target: 'failed', actions: { type: 'failBind', params: { reason: 'no answer to connect within the open timeout' } } } },
      on: {
        'transport.connected': 'binding',
        'assoc.displace': { guard: 'inbound', target: 'failed', actions: { type: 'failBind', params: ({ event }) => ({ reason: event.reason }) } },
        'transport.closed': { target: 'failed', actions: { type: 'fail', params: { kind: 'aborted', reason: 'closed while connecting' } } }
      }
    },
    binding: {
      after: { bindTimeout: { target: 'failed', actions: { type: 'failBind', params: { reason: 'no bind within the bind timeout' } } } },
      on: {
        'assoc.displace': { guard: 'inbound', target: 'failed', actions: { type: 'failBind', params: ({ event }) => ({ reason: event.reason }) } },
        'transport.bound': { target: 'bound', actions: assign({ peer: ({ event }) => event.peer, link: ({ event }) => event.link }) },
        'transport.closed': { target: 'failed', actions: { type: 'fail', params: { kind: 'bind-rejected', reason: 'closed during bind' } } }
      }
    },
    bound: {
      entry: emit(({ context }): AssociationBoundEvent => ({ type: 'assoc.bound', assocId: context.assocId, peer: context.peer ?? '', link: context.link })),
      initial: 'idle',
      states: {
        idle: { after: { heartbeatInterval: 'probing' } },
        probing: {
          entry: sendTo('transport', { type: 'transport.ping' } satisfies TransportCommand),
          after: { heartbeatTimeout: { target: '#association.failed', actions: { type: 'fail', params: { kind: 'timeout', reason: 'no heartbeat answer' } } } },
          on: { 'transport.alive': 'idle' }
        }
      },
      on: {
        'transport.closed': '#association.released',
        'assoc.release': '#association.releasing'
      }
    },
    releasing: {
      entry: sendTo('transport', { type: 'transport.release' } satisfies TransportCommand),
      // Our side released cleanly; a peer too slow to confirm does not make it a failure.
      after: { releaseTimeout: 'released' },
      on: { 'transport.closed': 'released' }
    },
    released: {
      type: 'final',
      entry: [
        assign({ outcome: 'released' as const }),
        emit(({ context }): AssociationEndedEvent => ({ type: 'assoc.ended', assocId: context.assocId, outcome: 'released', reason: 'released' }))
      ]
    },
    failed: {
      type: 'final',
      entry: emit(({ context }): AssociationEndedEvent => ({ type: 'assoc.ended', assocId: context.assocId, outcome: context.outcome, reason: context.reason }))
    }
  }
})
