export { LocalSite, loadTopology, type UpOptions } from './local-site.js'
export { gatherStatus } from './commands/status.js'
export { formatLogLine, parseLogLine } from './pretty-log.js'
