export { Mta, type Submission, type MtaState } from './mta.js'
export { MtaStore, type QueuedMessage, type Delivery } from './store.js'
export { createAdminServer } from './admin-server.js'
export { createLogger, logEvent } from './logger.js'
