import { and, assign, emit, setup } from 'xstate'
import { afterFailedOpen, type RetryPolicy } from './retry-policy.js'

export interface QueueLifecycleInput {
  policy: RetryPolicy
  /** Remote servers to try in turn (a Site Connector has several; a server of the site, one). */
  targets: string[]
  /** What association ids are named after: the peer, or the connector. */
  label: string
  /** MTA time now, for nextRetryAt (status) only; delays run on the actor's clock. */
  now: () => number
}

export interface QueueLifecycleContext extends QueueLifecycleInput {
  target: number
  failedOpens: number
  opens: number
  assocId: string | undefined
  nextRetryAt: number | undefined
  lastFailure: { at: number, reason: string } | undefined
  /** Whether messages wait to be sent, and whether the queue holds nothing at all (none waiting, in flight or held for a retry). */
  hasMail: boolean
  empty: boolean
  /** Why the last failed open failed for want of control blocks (9156): its NDRs then say MTS congestion (Q230497). */
  congestion: boolean
}

export type QueueLifecycleEvent =
  /** Mail began or stopped waiting, or the queue became empty or not: sent only when one of the two flips. */
  | { type: 'queue.changed', hasMail: boolean, empty: boolean }
  /** The pool had no control block for the open (9156). */
  | { type: 'queue.exhausted', assocId: string }
  | { type: 'queue.bound', assocId: string }
  | { type: 'queue.ended', assocId: string, wasBound: boolean, failed: boolean, reason: string }
  /** Every message of the queue has been answered after the last retry. */
  | { type: 'queue.drained' }
  /** Closing down: open nothing more. */
  | { type: 'queue.stop' }

/** What the shell must do: open or release an association, send, answer the queue, reroute. */
export type QueueLifecycleEmitted =
  | { type: 'open', target: string, assocId: string }
  | { type: 'release', assocId: string }
  | { type: 'pump' }
  | { type: 'down' }
  | { type: 'ndrAll', reason: string, diagnostic: string }

const mine = ({ context, event }: { context: QueueLifecycleContext, event: QueueLifecycleEvent }): boolean => 'assocId' in event && event.assocId === context.assocId

/**
 * The lifecycle of one outbound queue (one per other server of the site, Q158633, and one per
 * connector): idle → opening → bound → (released) idle, or opening → retryWait → idle after a
 * failed open, every open interval, until the first attempt and all `maxOpenRetries` retries
 * have failed; then draining answers the queue with non-delivery reports (144 × 600 s = 24 h
 * at Exchange's defaults). A bound association with nothing to send is released after the
 * disconnect time (Q193894: 120 s). Pure: the shell sends what happened and does what is emitted.
 */
export const queueMachine = setup({
  types: {
    input: {} as QueueLifecycleInput,
    context: {} as QueueLifecycleContext,
    events: {} as QueueLifecycleEvent,
    emitted: {} as QueueLifecycleEmitted
  },
  delays: {
    openInterval: ({ context }) => context.policy.openIntervalMs,
    disconnect: ({ context }) => context.policy.disconnectMs
  },
  guards: {
    hasMail: ({ context }) => context.hasMail,
    empty: ({ context }) => context.empty,
    mine,
    unboundEnd: ({ context, event }) => mine({ context, event }) && event.type === 'queue.ended' && !event.wasBound,
    /** Whether the failed open being handled (not yet counted) leaves a retry. */
    retryAfterThis: ({ context }) => afterFailedOpen(context.policy, context.failedOpens + 1, context.now()).action === 'retry'
  },
  actions: {
    down: emit({ type: 'down' as const }),
    count: assign(({ event }) => event.type === 'queue.changed' ? { hasMail: event.hasMail, empty: event.empty } : {}),
    failedOpen: assign(({ context, event }) => ({
      failedOpens: context.failedOpens + 1,
      // A Site Connector may reach the other site through any of its target servers: try the next.
      target: (context.target + 1) % context.targets.length,
      assocId: undefined,
      congestion: event.type === 'queue.exhausted',
      lastFailure: { at: context.now(), reason: event.type === 'queue.exhausted' ? 'no free control blocks' : event.type === 'queue.ended' ? event.reason : 'failed' }
    }))
  }
}).createMachine({
  id: 'queue',
  context: ({ input }) => ({ ...input, target: 0, failedOpens: 0, opens: 0, assocId: undefined, nextRetryAt: undefined, lastFailure: undefined, hasMail: false, empty: true, congestion: false }),
  on: {
    'queue.changed': { actions: 'count' },
    'queue.stop': { target: '.stopped' }
  },
  initial: 'idle',
  states: {
    idle: {
      always: { guard: 'hasMail', target: 'opening' },
      on: { 'queue.changed': { actions: 'count', target: 'idle', reenter: true } }
    },
    opening: {
      entry: [
        assign(({ context }) => ({ opens: context.opens + 1, assocId: `out-${context.label}-${context.opens + 1}` })),
        emit(({ context }) => ({ type: 'open' as const, target: context.targets[context.target]!, assocId: context.assocId! }))
      ],
      // A failed open goes straight to its retry or, after the last one, to draining: no transient
      // state, since a stopped MTA makes one such failure per queue every open interval for days.
      on: {
        'queue.bound': { guard: 'mine', target: 'bound', actions: assign({ failedOpens: 0, nextRetryAt: undefined }) },
        'queue.exhausted': [
          { guard: and(['mine', 'retryAfterThis']), target: 'retryWait', actions: ['failedOpen', 'down'] },
          { guard: 'mine', target: 'draining', actions: ['failedOpen', 'down'] }
        ],
        'queue.ended': [
          { guard: and(['unboundEnd', 'retryAfterThis']), target: 'retryWait', actions: ['failedOpen', 'down'] },
          { guard: 'unboundEnd', target: 'draining', actions: ['failedOpen', 'down'] }
        ]
      }
    },
    retryWait: {
      entry: assign(({ context }) => ({ nextRetryAt: context.now() + context.policy.openIntervalMs })),
      exit: assign({ nextRetryAt: undefined }),
      after: { openInterval: 'idle' }
    },
    draining: {
      // Q230497: with no control blocks the NDR says MTS congestion; otherwise the retries ran out.
      entry: [
        emit(({ context }) => ({ type: 'ndrAll' as const, reason: 'unable-to-transfer', diagnostic: context.congestion ? 'MTS-congestion' : 'maximum-time-expired' })),
        assign({ failedOpens: 0 })
      ],
      on: { 'queue.drained': 'idle' }
    },
    bound: {
      entry: emit({ type: 'pump' as const }),
      on: {
        'queue.ended': {
          guard: 'mine',
          target: 'idle',
          actions: assign(({ context, event }) => ({ assocId: undefined, lastFailure: event.type === 'queue.ended' && event.failed ? { at: context.now(), reason: event.reason } : context.lastFailure }))
        }
      },
      initial: 'sending',
      states: {
        // The shell sends while bound (it owns the window); the machine only times the idle release.
        sending: {
          always: { guard: 'empty', target: 'quiet' },
          on: { 'queue.changed': { actions: 'count', target: 'sending', reenter: true } }
        },
        // Nothing to send: release after the disconnect time, unless mail comes first.
        quiet: {
          after: { disconnect: { actions: emit(({ context }) => ({ type: 'release' as const, assocId: context.assocId! })) } },
          on: { 'queue.changed': { guard: ({ event }) => !event.empty, actions: 'count', target: 'sending' } }
        }
      }
    },
    stopped: { type: 'final' }
  }
})

/** The queue states as `/status` names them. */
export function queueStateName (value: unknown): 'idle' | 'opening' | 'bound' | 'retry-wait' | 'draining' | 'stopped' {
  const top = typeof value === 'string' ? value : Object.keys(value as object)[0]
  if (top === 'retryWait') return 'retry-wait'
  return top as 'idle' | 'opening' | 'bound' | 'draining' | 'stopped'
}
