// Child process: start one benchmarked app and report its port to the parent.
import { buildApp } from './apps.mjs';
import { answerParent } from './proc.mjs';
import { variants } from './variants.mjs';

const [impl, variantName] = process.argv.slice(2);
const variant = variants[variantName ?? 'memory'];
if (!variant) throw new Error(`unknown variant ${variantName}`);
const app = await buildApp(impl, variant);
const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
answerParent(server);
