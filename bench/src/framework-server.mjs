// Child process: start one benchmarked framework app (framework-apps.mjs) and report its port to the parent.
import { startFrameworkApp } from './framework-apps.mjs';
import { answerParent } from './proc.mjs';

const [framework, impl, store] = process.argv.slice(2);
const server = await startFrameworkApp(framework, impl, store);
process.send({ port: server.address().port });
answerParent(server);
