declare module 'express-session';
declare module 'express-mysql-session';
