import { runMain } from '../run-main.js';
import { startTraced } from '../telemetry.js';

// The worker's modules load after tracing has started, so its instrumentations see them load.
await runMain('worker', (config, log) =>
  startTraced(config, 'worker', log, async (tracing) =>
    (await import('./worker.js')).startWorker(config, log, tracing),
  ),
);
