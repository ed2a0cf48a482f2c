import type { Registry } from 'prom-client';

export interface RenderedMetrics {
  contentType: string;
  body: string;
}

/**
 * The Prometheus text of one process's registry: what the API's GET /metrics and a worker's
 * metrics port both answer, so the two never drift apart in format or content type.
 */
export async function renderMetrics(registry: Registry): Promise<RenderedMetrics> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
