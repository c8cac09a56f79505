import { assign, createActor, emit, enqueueActions, setup, type Actor, type ActorOptions } from 'xstate'
import type { Direction, FailureKind } from '../association/association.events.js'
import { LISTEN_CONTROL_BLOCKS } from '../defaults.js'
import { BlockIndexes } from './block-indexes.js'
import { decideLeak, type LeakPolicy } from './leak-policy.js'
import type { PoolAnswer, PoolEvent, PoolRequestEvent } from './pool.events.js'

/** A control block held by a live association. Index 0 belongs to the listener. */
export interface HeldBlock {
  index: number
  assocId: string
  peer: string | undefined
  direction: Direction
  /** `site`, or the connector the association carries. */
  channel: string
  state: 'opening' | 'bound'
}

/** A control block a failed association never gave back (pre-SP4 only). */
export interface LeakedBlock {
  index: number
  peer: string | undefined
  direction: Direction
  kind: FailureKind
}

export interface PoolInput {
  /** Configured control blocks, including the listener's. */
  capacity: number
  /** Printed in 9156: 5 for the intra-site RPC pool (Q168815). */
  networkType: number
  leakPolicy: LeakPolicy
  seed: number
  /**
   * Outbound associations connecting or binding at once; later requests wait their turn here.
   * Exchange's MTA set associations up on a few kernel threads (Q234280: "1 to 3"); the number
   * at once is NOT FOUND, so xcon's is a design choice (MAX_OPENING, XCON_MAX_OPENING). Without
   * it a 100-MTA site starting its whole mesh makes 9,900 opens on two cores, which time out.
   */
  maxOpening: number
}

export interface PoolContext extends PoolInput {
  /**
   * Live associations' blocks by association id. The map, the free indexes and the waiting
   * requests are changed in place: copying them on every event made the pool's cost per
   * association grow with the number live (issue #31).
   */
  held: Map<string, HeldBlock>
  free: BlockIndexes
  leaked: LeakedBlock[]
  rng: number
  /** Outbound blocks not bound yet, and the outbound requests waiting for one of those places. */
  opening: number
  waiting: PoolRequestEvent[]
  counts: { opened: number, bound: number, released: number, failed: number, exhausted: number }
}

/** Control blocks neither held nor leaked nor the listener's. */
export function freeBlocks (context: PoolContext): number {
  return context.capacity - LISTEN_CONTROL_BLOCKS - context.held.size - context.leaked.length
}

/**
 * One answer on its way to whoever asked. XState runs a machine's own actions inside its
 * transition, and delivers emitted events after it: an answer that started an association from
 * inside the pool's transition would run the requester's code there. So each answer is emitted,
 * and the pool's one listener (startPool) hands it to the closure of the request it answers.
 */
export interface PoolReply { type: 'pool.reply', deliver: () => void }

function reply (request: PoolRequestEvent, answer: PoolAnswer): PoolReply {
  return { type: 'pool.reply', deliver: () => { request.reply(answer) } }
}

const CLOSING: PoolAnswer = { type: 'refused', reason: 'the MTA is closing down' }

/** Gives `request` a block, or answers that none is free; either way, to the requester alone. */
function grant (context: PoolContext, request: PoolRequestEvent): PoolAnswer {
  const index = freeBlocks(context) > 0 ? context.free.take() : undefined
  if (index === undefined) {
    context.counts.exhausted++
    return { type: 'exhausted', networkType: context.networkType, capacity: context.capacity }
  }
  context.held.set(request.assocId, { index, assocId: request.assocId, peer: request.peer, direction: request.direction, channel: request.channel, state: 'opening' })
  context.counts.opened++
  if (request.direction === 'outbound') context.opening++
  return { type: 'granted', controlBlock: index, free: freeBlocks(context) }
}

/** An outbound block stopped opening: the requests waiting their turn take the places free now. */
function nextTurns (context: PoolContext): Array<[PoolRequestEvent, PoolAnswer]> {
  const answers: Array<[PoolRequestEvent, PoolAnswer]> = []
  while (context.opening < context.maxOpening && context.waiting.length > 0) {
    const request = context.waiting.shift()!
    answers.push([request, grant(context, request)])
  }
  return answers
}

/**
 * The MTA's connection resources (Q260167): it counts control blocks and decides leaks, nothing
 * more. Every association, inbound or outbound, holds one block; one more is the listener's
 * (Q243632). Whoever asks for a block gets the answer alone (`reply`), runs the association
 * itself, and gives the block back with the association's outcome. When that outcome is a
 * failure, a pre-SP4 pool may keep the block forever (`leaked`); when no block is free, a request
 * fails at once (9156). Nothing but a new pool (an MTA restart) frees leaked blocks.
 */
export const poolMachine = setup({
  types: {
    context: {} as PoolContext,
    events: {} as PoolEvent,
    input: {} as PoolInput,
    emitted: {} as PoolReply
  }
}).createMachine({
  id: 'pool',
  context: ({ input }) => ({
    ...input,
    held: new Map(),
    free: new BlockIndexes(input.capacity - LISTEN_CONTROL_BLOCKS),
    leaked: [],
    rng: input.seed >>> 0,
    opening: 0,
    waiting: [],
    counts: { opened: 0, bound: 0, released: 0, failed: 0, exhausted: 0 }
  }),
  initial: 'running',
  on: {
    'cb.withdraw': {
      actions: assign(({ context, event }) => {
        const i = context.waiting.findIndex(r => r.assocId === event.assocId)
        if (i !== -1) context.waiting.splice(i, 1)
        return {}
      })
    },
    'cb.bound': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const block = context.held.get(event.assocId)
        if (block === undefined || block.state === 'bound') return
        block.state = 'bound'
        block.peer = event.peer
        context.counts.bound++
        if (block.direction !== 'outbound') return
        context.opening--
        for (const [request, answer] of nextTurns(context)) enqueue.emit(reply(request, answer))
      })
    },
    'cb.return': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const block = context.held.get(event.assocId)
        if (block === undefined) return
        context.held.delete(event.assocId)
        const [leaked, rng] = decideLeak(context.leakPolicy, event.outcome, context.rng)
        if (leaked) context.leaked.push({ index: block.index, peer: block.peer, direction: block.direction, kind: event.outcome as FailureKind })
        else context.free.give(block.index)
        if (event.outcome === 'released') context.counts.released++
        else context.counts.failed++
        const turns = block.direction === 'outbound' && block.state === 'opening' ? (context.opening--, nextTurns(context)) : []
        enqueue.assign({ rng })
        const answer = { controlBlock: block.index, leaked, free: freeBlocks(context), lost: context.leaked.length, capacity: context.capacity, networkType: context.networkType }
        enqueue.emit({ type: 'pool.reply', deliver: () => { event.reply(answer) } })
        for (const [request, a] of turns) enqueue.emit(reply(request, a))
      })
    }
  },
  states: {
    running: {
      on: {
        'cb.request': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            if (event.direction === 'outbound' && context.opening >= context.maxOpening) {
              context.waiting.push(event)
              return
            }
            enqueue.emit(reply(event, grant(context, event)))
          })
        },
        'pool.drain': 'draining'
      }
    },
    draining: {
      entry: enqueueActions(({ context, enqueue }) => {
        const waiting = context.waiting.splice(0)
        for (const request of waiting) enqueue.emit(reply(request, CLOSING))
      }),
      on: {
        'cb.request': { actions: emit(({ event }) => reply(event, CLOSING)) }
      }
    }
  }
})

export type PoolMachine = typeof poolMachine

/** Creates and starts a pool on `clock`, delivering each answer to the request it answers. */
export function startPool (input: PoolInput, clock?: ActorOptions<PoolMachine>['clock']): Actor<PoolMachine> {
  const actor = createActor(poolMachine, { input, ...(clock === undefined ? {} : { clock }) })
  actor.on('pool.reply', e => { e.deliver() })
  return actor.start()
}
