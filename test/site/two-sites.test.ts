import { afterEach, describe, expect, it } from 'vitest'
import { TestSite, closeAllSites, countByMtsId, waitFor } from '../support/site-harness.js'
import { SmtpSink, missingSmtpTools, swaks } from '../support/smtp-tools.js'

/**
 * The last line of KB Q260167: "This issue does not cause any loss of communication between
 * servers in different sites by using any connector". SRV-A is CORP's X.400 bridgehead and runs
 * the IMS on build 2650; SRV-C fails until SRV-A has no intra-site control blocks left. SRV-A then
 * cannot reach the healthy SRV-B, yet mail to BRANCH over the X.400 Connector and mail in and out
 * over SMTP (real swaks, real Postfix smtp-sink) keeps flowing. A restart drains everything once.
 */
const missing = missingSmtpTools()
if (missing.length > 0) process.stderr.write(`\n*** SKIPPING the two-site SMTP test: ${missing.join(', ')} not installed (apt-get install swaks postfix) ***\n\n`)

let sink: SmtpSink | undefined
afterEach(async () => { sink?.stop(); sink = undefined; await closeAllSites() })

const topology = (smartPort: number): string => `organization: XCON
domain: xcon.test
sites:
  CORP: { secret: corp-secret, servers: [SRV-A, SRV-B, SRV-C] }
  BRANCH: { secret: branch-secret, servers: [BR-A, BR-B] }
connectors:
  CORP-BRANCH-X400:
    type: x400
    sites: [CORP, BRANCH]
    bridgeheads: { CORP: SRV-A, BRANCH: BR-A }
    secret: x400-password
defaults: { build: 2653, timeScale: 600, controlBlocks: 8, traffic: off }
servers:
  SRV-A:
    build: 2650
    controlBlocks: 6
    leak: { probability: 1 }
    ims: { smartHost: "127.0.0.1:${smartPort}" }
`

describe.skipIf(missing.length > 0)('two sites joined by an X.400 Connector, with an IMS', () => {
  it('keeps the connector and SMTP flowing while the bridgehead cannot reach its own site, and drains after a restart', async () => {
    sink = await SmtpSink.start()
    const t = await TestSite.start(topology(sink.port))
    const a = await t.status('SRV-A')
    expect(a.connectors).toEqual([expect.objectContaining({ name: 'CORP-BRANCH-X400', type: 'x400', peer: 'BR-A', depth: 0 })])
    expect(a.smtp).toMatchObject({ port: expect.any(Number), domain: 'xcon.test' })
    const smtpPort = a.smtp.port as number

    const baseline = await t.send('SRV-A', 'user1@SRV-B', 1, 'baseline')
    await waitFor('the baseline on SRV-B', async () => (await t.deliveries('SRV-B')).length === 1)

    // The Q260167 outage: SRV-C is down long enough that SRV-A keeps no intra-site control block.
    await t.xcon('kill', 'SRV-C')
    const toC = await t.send('SRV-A', 'user1@SRV-C', 3, 'to the dead peer')
    await waitFor('SRV-A to lose every intra-site control block', async () => (await t.status('SRV-A')).controlBlocks.leaked === 5)
    const toB = await t.send('SRV-A', 'user1@SRV-B', 3, 'inside the site, stuck')
    await waitFor('9156 for SRV-B', () => t.logs('SRV-A', 9156).some(r => r.peer === 'SRV-B'))

    // Across the X.400 Connector, from SRV-A and through it, mail still flows.
    const overX400 = await t.send('SRV-A', 'user2@BR-B', 3, 'over the X.400 connector')
    const fromBranch = await t.send('BR-B', 'user3@SRV-A', 2, 'from the branch')
    await waitFor('three on BR-B', async () => (await t.deliveries('BR-B')).length === 3)
    await waitFor('two on SRV-A', async () => (await t.deliveries('SRV-A')).length === 2)
    const onBrB = await t.deliveries('BR-B')
    expect(onBrB.map(d => d.hops)).toEqual(Array(3).fill(['SRV-A', 'BR-A', 'BR-B']))

    // SMTP in: swaks to the IMS on SRV-A, for a mailbox in the other site.
    const inbound = await swaks(smtpPort, 'alice@example.net', 'user4@br-b.xcon.test', 'in over SMTP')
    expect(inbound.code).toBe(0)
    expect(inbound.out).toMatch(/250 2\.0\.0 queued as c=US;a= ;p=XCON;l=SRV-A-/)
    await waitFor('the SMTP message on BR-B', async () => (await t.deliveries('BR-B')).some(d => d.mailbox === 'user4' && d.originator === 'alice@example.net'))
    // Not an open relay.
    expect((await swaks(smtpPort, 'alice@example.net', 'eve@example.org', 'relay?')).out).toMatch(/550 5\.7\.1 eve@example.org: relaying denied/)
    // A mailbox the directory does not know is refused in RCPT, so no bounce goes to a forged sender later.
    expect((await swaks(smtpPort, 'alice@example.net', 'nobody@br-b.xcon.test', 'who?')).out).toMatch(/550 5\.1\.1 nobody@br-b\.xcon\.test: no mailbox nobody on BR-B/)

    // SMTP out: to the Internet from SRV-A, and from the branch through the connector and the IMS.
    await t.send('SRV-A', 'bob@example.net', 1, 'out over SMTP')
    await t.send('BR-B', 'carol@example.net', 1, 'out from the branch')
    await waitFor('two messages at the smart host', () => sink!.messages().length === 2)
    const received = sink.messages().join('\n')
    expect(received).toMatch(/X-Rcpt-Args: <bob@example\.net>/)
    expect(received).toMatch(/X-Mail-Args: <administrator@br-b\.xcon\.test>/)
    expect(received).toMatch(/Subject: out from the branch/)

    // All the while SRV-A still cannot reach SRV-B, and its connector pool lost nothing.
    const during = await t.status('SRV-A')
    expect(during.controlBlocks).toMatchObject({ free: 0, leaked: 5 })
    expect(during.connectorControlBlocks).toMatchObject({ leaked: 0, networkType: 1 })
    expect(during.queues.find((q: any) => q.peer === 'SRV-B').depth).toBe(3)
    expect((await t.deliveries('SRV-B')).length).toBe(1)

    // The workaround: restart SRV-A. Everything drains, exactly once.
    await t.xcon('start', 'SRV-C')
    await t.xcon('restart', 'SRV-A')
    await waitFor('SRV-A queues to drain', async () => (await t.status('SRV-A')).queues.every((q: any) => q.depth === 0))
    const onB = countByMtsId(await t.deliveries('SRV-B'))
    const onC = countByMtsId(await t.deliveries('SRV-C'))
    expect([...baseline, ...toB].map(id => onB.get(id))).toEqual([1, 1, 1, 1])
    expect(toC.map(id => onC.get(id))).toEqual([1, 1, 1])
    expect(overX400.map(id => countByMtsId(onBrB).get(id))).toEqual([1, 1, 1])
    const onA = countByMtsId(await t.deliveries('SRV-A'))
    expect(fromBranch.map(id => onA.get(id))).toEqual([1, 1])
    expect(sink.messages()).toHaveLength(2)
  })
})
