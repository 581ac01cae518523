import { buildApp } from '/work/main/bench/src/apps.mjs';
import { variants } from '/work/main/bench/src/variants.mjs';
const app = await buildApp(process.argv[2], variants[process.argv[3]]);
const server = app.listen(4555, '127.0.0.1', () => console.log('ready'));
setTimeout(() => server.close(() => process.exit(0)), Number(process.argv[4] ?? 12000));
