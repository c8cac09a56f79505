/**
 * The site `xcon up` runs with no topology file: four servers of one site with light traffic.
 * SRV-A to SRV-C run SP3 (2650, which leaks), SRV-D runs SP4 (2653, fixed), so one run shows
 * both behaviours side by side. Eight control blocks make the leak visible in about a minute.
 */
export const DEFAULT_TOPOLOGY_YAML = `# xcon default site (see README.md)
organization: XCON
sites:
  CORP:
    secret: change-me
    servers: [SRV-A, SRV-B, SRV-C, SRV-D]
defaults:
  build: 2650
  timeScale: 600
  controlBlocks: 8
  traffic: light
servers:
  SRV-D: { build: 2653 }
`
