// Child process: start one benchmarked app and report its port to the parent.
import { buildApp } from './apps.mjs';
import { variants } from './variants.mjs';

const [impl, variantName] = process.argv.slice(2);
const variant = variants[variantName ?? 'memory'];
if (!variant) throw new Error(`unknown variant ${variantName}`);
const app = await buildApp(impl, variant);
const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
let mark = process.cpuUsage();
let served = 0;
server.on('request', () => served++);
process.on('message', (m) => {
  if (m === 'mark') {
    mark = process.cpuUsage();
    served = 0;
    process.send({ marked: true });
  } else if (m === 'cpu') {
    const u = process.cpuUsage(mark);
    process.send({ cpuMicros: u.user + u.system, served });
  } else if (m === 'stop') server.close(() => process.exit(0));
});
