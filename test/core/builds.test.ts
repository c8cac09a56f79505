import { describe, expect, it } from 'vitest'
import { InvalidBuildError, leaksConnectionResources, parseBuild } from '@xcon/core'

describe('builds', () => {
  it.each([
    ['2650', 2650], [2653, 2653], ['5.5.2650.24', 2650], ['2650.24', 2650], ['5.5.2653.19', 2653],
    ['sp3', 2650], ['SP4', 2653], ['rtm', 1960], ['sp1', 2232], ['2448', 2448]
  ])('reads %s as build %d', (text, build) => {
    expect(parseBuild(text)).toBe(build)
  })

  it('names the accepted builds when it meets an unknown one', () => {
    expect(() => parseBuild('2651')).toThrow(InvalidBuildError)
    expect(() => parseBuild('sp5')).toThrow(/unknown Exchange 5.5 build "sp5": use 1960 \(RTM\).*2653 \(SP4\)/)
  })

  it('leaks before SP4 only', () => {
    expect([1960, 2232, 2448, 2650, 2653].map(b => leaksConnectionResources(b as never))).toEqual([true, true, true, true, false])
  })
})
