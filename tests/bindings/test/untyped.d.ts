// Express 4 under an alias for the version matrix (its API is used as Express 5's types describe it).
declare module 'express4';
