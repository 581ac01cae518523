// What each benchmark compares: a name, the incumbent's store and sess's store (plus sess options).
export const variants = {
  memory: { label: 'MemoryStore (express-session) vs MemoryStore (sess)' },
  'memory-touchAfter': {
    label: 'MemoryStore, sess with touchAfter: 60s',
    sessOptions: { touchAfter: 60_000 },
  },
  'memory-merge': {
    label: "MemoryStore, sess with concurrency: 'merge'",
    sessOptions: { concurrency: 'merge' },
  },
  'memory-lock': {
    label: "MemoryStore, sess with concurrency: 'lock'",
    sessOptions: { concurrency: 'lock' },
  },
};
