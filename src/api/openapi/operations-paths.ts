import { dashboardPath } from '../dashboard.js';
import { errorResponses } from './error-responses.js';
import type { Paths } from './openapi-document.js';
import { jsonOf } from './schema-fragments.js';

/** What operators and orchestrators call: liveness, readiness, metrics. */
export function operationsPaths(): Paths {
  return {
    '/healthz': {
      get: {
        tags: ['operations'],
        summary: 'Liveness: the process answers (never touches Redis)',
        responses: { '200': { description: 'Alive.', content: jsonOf('Health') } },
      },
    },
    '/readyz': {
      get: {
        tags: ['operations'],
        summary: 'Readiness: Redis answers, and every served model has a live worker and a running queue',
        responses: {
          '200': { description: 'Ready.', content: jsonOf('Ready') },
          ...errorResponses('Error', ['unavailable', 'no_worker']),
        },
      },
    },
    '/metrics': {
      get: {
        tags: ['operations'],
        summary: 'Prometheus metrics of this API process',
        description:
          'HTTP requests by route pattern and status, queue depth by state (read from Redis at scrape time), ' +
          'process metrics. Open unless METRICS_TOKEN is set. Workers serve their own batch, inference and job ' +
          'metrics on WORKER_METRICS_PORT. The Bull Board dashboard (not described here) is at ' +
          `${dashboardPath} when credentials are configured.`,
        security: [{}, { metricsToken: [] }],
        responses: {
          '200': {
            description: 'Prometheus text exposition format 0.0.4.',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...errorResponses('Error', ['unauthorized']),
        },
      },
    },
  };
}
