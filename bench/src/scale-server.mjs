// Child process of scale.mjs: one app (express-session + the incumbent store, or sess + its store) on the
// populated namespace of one store. Answers the parent over IPC: mark/cpu (server CPU per request), prune (one
// pass of the store's own prune, in this process as the store's timer would run it), stop.
import { buildApp } from './apps.mjs';
import { answerParent } from './proc.mjs';
import { scaleStores } from './scale-stores.mjs';
import { RECOMMENDED } from './variants.mjs';

const [impl, storeName, sizeArg] = process.argv.slice(2);
const def = scaleStores[storeName];
let store;
const keep = (s) => (store = s);
const app = await buildApp(impl, {
  makeIncumbentStore: async (expressSession) => keep(await def.incumbent(expressSession)),
  makeSessStore: async () => keep(await def.sess()),
  sessOptions: RECOMMENDED,
});
let heapBytesPerSession = null;
if (def.inProcess) {
  // An in-process store is filled here, in its own heap: memory per session is that heap's growth.
  const n = Number(sizeArg);
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  await def.fillInProcess(store, n, Date.now(), impl);
  globalThis.gc?.();
  heapBytesPerSession = (process.memoryUsage().heapUsed - before) / n;
}
const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port, heapBytesPerSession }));
answerParent(server, {
  // One pass of the store's own prune, in this process as the store's timer would run it.
  extra: async (m) => {
    if (m !== 'prune') return;
    const prune = impl === 'sess' ? def.sessPrune : def.incumbentPrune;
    const t0 = performance.now();
    try {
      await prune(store);
      process.send({ pruneMs: performance.now() - t0 });
    } catch (err) {
      process.send({ pruneError: String(err?.message ?? err) });
    }
  },
});
