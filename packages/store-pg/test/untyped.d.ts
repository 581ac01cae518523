declare module 'express-session';
declare module 'connect-pg-simple';
