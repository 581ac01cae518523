// Packages used by the tests that ship no types (express-session's types are not installed on purpose:
// they would clash with @sess/core's own augmentation of Express.Request).
declare module 'express-session';
declare module 'express4';
declare module 'session-file-store';
