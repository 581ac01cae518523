declare module 'express-session';
declare module 'session-file-store';
