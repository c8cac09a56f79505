import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_TOPOLOGY_YAML } from '@xcon/core'
import { TestSite, closeAllSites } from '../support/site-harness.js'

afterEach(closeAllSites)

describe('xcon down', () => {
  it('says what it closed, and says so when it finds the site already down', async () => {
    const t = await TestSite.start(DEFAULT_TOPOLOGY_YAML)
    expect(await t.xcon('down')).toContain('closed down SRV-A, SRV-B, SRV-C, SRV-D')
    expect(await t.xcon('down')).toContain('nothing to close down: SRV-A, SRV-B, SRV-C, SRV-D are already down')
  })
})
