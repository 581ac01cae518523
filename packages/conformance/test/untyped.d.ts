declare module 'express-session';
declare module 'session-file-store';
declare module 'connect-pg-simple';
declare module 'express-mysql-session';
declare module 'pg';
