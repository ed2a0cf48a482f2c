import { runMain } from '../run-main.js';
import { startWorker } from './worker.js';

await runMain('worker', startWorker);
