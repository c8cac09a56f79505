import { assign, emit, enqueueActions, sendTo, setup, stopChild } from 'xstate'
import type { Direction, FailureKind } from '../association/association.events.js'
import { associationMachine, type AssociationTiming } from '../association/association.machine.js'
import { LISTEN_CONTROL_BLOCKS } from '../defaults.js'
import { decideLeak, type LeakPolicy } from './leak-policy.js'
import type { PoolEmitted, PoolEvent } from './pool.events.js'

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
  timing: AssociationTiming
}

export interface PoolContext extends PoolInput {
  held: Record<string, HeldBlock>
  leaked: LeakedBlock[]
  rng: number
  counts: { opened: number, bound: number, released: number, failed: number, exhausted: number }
}

/** Control blocks neither held nor leaked nor the listener's. */
export function freeBlocks (context: PoolContext): number {
  return context.capacity - LISTEN_CONTROL_BLOCKS - Object.keys(context.held).length - context.leaked.length
}

/**
 * The id of the child actor of the association that holds block `index`. Not the association's
 * own id: XState memoizes transition candidates per event type, and each child that ends sends
 * its parent `xstate.done.actor.<child id>`, so ids that are never used again would add an entry
 * to the pool for every association it ever had (issue #31: 5,000 strangers, 0.8 MB). Block
 * indexes are few and reused.
 */
export function childIdOf (index: number): string {
  return `cb-${index}`
}

/** The lowest block index in use by nobody, so indexes in events stay small and stable like Exchange's. */
function lowestFreeIndex (context: PoolContext): number {
  const used = new Set<number>([0, ...Object.values(context.held).map(b => b.index), ...context.leaked.map(b => b.index)])
  let i = 1
  while (used.has(i)) i++
  return i
}

/**
 * The MTA's intra-site connection resources (Q260167). Every association, inbound or outbound,
 * holds one control block; one more is the listener's (Q243632). When an association ends in
 * failure, a pre-SP4 pool may keep its block forever (`leaked`); when no block is free, opening
 * fails at once and the MTA logs 9156. Nothing but a new pool (an MTA restart) frees leaked blocks.
 */
export const poolMachine = setup({
  types: {
    context: {} as PoolContext,
    events: {} as PoolEvent,
    input: {} as PoolInput,
    emitted: {} as PoolEmitted
  },
  actors: { association: associationMachine },
  guards: {
    hasFreeBlock: ({ context }) => freeBlocks(context) > 0,
    isHeld: ({ context, event }) => 'assocId' in event && event.assocId in context.held,
    isBindingInbound: ({ context, event }) => {
      const block = 'assocId' in event ? context.held[event.assocId] : undefined
      return block?.direction === 'inbound' && block.state === 'opening'
    }
  },
  actions: {
    refuseClosingDown: emit(({ event }) => {
      const e = event as Extract<PoolEvent, { type: 'pool.open' }>
      return { type: 'cb.refused' as const, assocId: e.assocId, peer: e.peer, direction: e.direction, channel: e.channel ?? 'site', reason: 'the MTA is closing down' }
    }),
    releaseAll: enqueueActions(({ context, enqueue }) => {
      for (const block of Object.values(context.held)) enqueue.sendTo(childIdOf(block.index), { type: 'assoc.release' })
    })
  }
}).createMachine({
  id: 'pool',
  context: ({ input }) => ({
    ...input,
    held: {},
    leaked: [],
    rng: input.seed >>> 0,
    counts: { opened: 0, bound: 0, released: 0, failed: 0, exhausted: 0 }
  }),
  initial: 'running',
  on: {
    'pool.release': { guard: 'isHeld', actions: sendTo(({ context, event }) => childIdOf(context.held[event.assocId]!.index), { type: 'assoc.release' }) },
    'pool.displace': { guard: 'isBindingInbound', actions: sendTo(({ context, event }) => childIdOf(context.held[event.assocId]!.index), ({ event }) => ({ type: 'assoc.displace' as const, reason: event.reason })) },
    'assoc.bound': {
      guard: 'isHeld',
      actions: [
        assign({
          held: ({ context, event }) => ({ ...context.held, [event.assocId]: { ...context.held[event.assocId]!, peer: event.peer, state: 'bound' as const } }),
          counts: ({ context }) => ({ ...context.counts, bound: context.counts.bound + 1 })
        }),
        emit(({ context, event }) => {
          const block = context.held[event.assocId]!
          return { type: 'assoc.bound' as const, assocId: event.assocId, peer: event.peer, direction: block.direction, channel: block.channel, controlBlock: block.index, link: event.link }
        })
      ]
    },
    'assoc.ended': {
      guard: 'isHeld',
      actions: enqueueActions(({ context, event, enqueue }) => {
        const block = context.held[event.assocId]!
        const [leaked, rng] = decideLeak(context.leakPolicy, event.outcome, context.rng)
        const held = { ...context.held }
        delete held[event.assocId]
        const failed = event.outcome !== 'released'
        const leakedList = leaked
          ? [...context.leaked, { index: block.index, peer: block.peer, direction: block.direction, kind: event.outcome as FailureKind }]
          : context.leaked
        const next = { ...context, held, leaked: leakedList, rng }
        enqueue.assign({
          held,
          leaked: leakedList,
          rng,
          counts: {
            ...context.counts,
            released: context.counts.released + (failed ? 0 : 1),
            failed: context.counts.failed + (failed ? 1 : 0)
          }
        })
        enqueue(stopChild(childIdOf(block.index)))
        enqueue.emit({
          type: 'assoc.ended',
          assocId: event.assocId,
          peer: block.peer,
          direction: block.direction,
          channel: block.channel,
          controlBlock: block.index,
          outcome: event.outcome,
          reason: event.reason,
          wasBound: block.state === 'bound',
          leaked,
          free: freeBlocks(next),
          lost: leakedList.length,
          capacity: context.capacity,
          networkType: context.networkType
        })
      })
    }
  },
  states: {
    running: {
      on: {
        'pool.open': [
          {
            guard: 'hasFreeBlock',
            actions: enqueueActions(({ context, event, enqueue }) => {
              const index = lowestFreeIndex(context)
              const channel = event.channel ?? 'site'
              const block: HeldBlock = { index, assocId: event.assocId, peer: event.peer, direction: event.direction, channel, state: 'opening' }
              enqueue.assign({
                held: { ...context.held, [event.assocId]: block },
                counts: { ...context.counts, opened: context.counts.opened + 1 }
              })
              enqueue.spawnChild('association', {
                id: childIdOf(index),
                input: { assocId: event.assocId, peer: event.peer, direction: event.direction, channel, controlBlock: index, timing: context.timing }
              })
              enqueue.emit({ type: 'cb.acquired', assocId: event.assocId, peer: event.peer, direction: event.direction, channel, controlBlock: index, free: freeBlocks(context) - 1 })
            })
          },
          {
            actions: [
              assign({ counts: ({ context }) => ({ ...context.counts, exhausted: context.counts.exhausted + 1 }) }),
              emit(({ context, event }) => ({
                type: 'cb.exhausted' as const,
                assocId: event.assocId,
                peer: event.peer,
                direction: event.direction,
                channel: event.channel ?? 'site',
                networkType: context.networkType,
                capacity: context.capacity
              }))
            ]
          }
        ],
        'pool.drain': 'draining'
      }
    },
    draining: {
      entry: 'releaseAll',
      on: { 'pool.open': { actions: 'refuseClosingDown' } }
    }
  }
})

export type PoolMachine = typeof poolMachine
