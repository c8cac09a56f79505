export { LocalSite, freePort, loadTopology, type UpOptions } from './local-site.js'
export { gatherStatus } from './commands/status.js'
export { formatLogLine, parseLogLine } from './pretty-log.js'
export { LinkProxy, type LinkMode } from './scenario/link-proxy.js'
