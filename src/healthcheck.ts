import { loadConfig } from './config.js';

/**
 * The container health probe (Dockerfile HEALTHCHECK, compose): exits 0 when the API on this host
 * answers /healthz within 3 s, 1 otherwise. The slim image has no curl; node is already there.
 */
const { port } = loadConfig().http;
const healthy = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) }).then(
  (res) => res.ok,
  () => false,
);
process.exit(healthy ? 0 : 1);
