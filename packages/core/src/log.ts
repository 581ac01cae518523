import createDebug from 'debug';

/** Lifecycle log: `DEBUG=sess:*`. Session ids are never logged, only their `idTag`. */
export const log = createDebug('sess:core');
