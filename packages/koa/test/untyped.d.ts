// Koa 2 under an alias for the version matrix: the same API as Koa 3's types describe.
declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
