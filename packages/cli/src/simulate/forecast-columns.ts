/** What each column of the forecast means: printed under the table and in `xcon forecast --help`. */
export const FORECAST_COLUMNS = [
  'FAILURES/H   the rate of failed connections asked for',
  'MADE/H       the failed associations an hour the simulation made (the 9318 and 2035 it logged): near the rate asked for',
  'FIRST 9156   MTA time until the subject\'s first 9156 (no free control block)',
  'TOWARD       the peer that 9156 was for',
  'QUEUED THEN  the messages in its queues at that moment',
  'LEAKED       control blocks lost, of its pool',
  'MODEL        what the leak model expects: (blocks - 1, the listener\'s) / leak probability / rate (docs/leak-model.md)'
]
