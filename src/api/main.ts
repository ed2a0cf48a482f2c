import { runMain } from '../run-main.js';
import { startApi } from './server.js';

await runMain('api', startApi);
