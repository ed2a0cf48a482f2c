import { runMain } from '../run-main.js';
import { startTraced } from '../telemetry.js';

// The server's modules load after tracing has started, so its instrumentations see them load.
await runMain('api', (config, log) =>
  startTraced(config, 'api', log, async (tracing) => (await import('./server.js')).startApi(config, log, tracing)),
);
