import { errorTable, type ErrorCode } from '../../errors.js';
import type { Response } from './openapi-document.js';
import { jsonOf } from './schema-fragments.js';

/** One response per status among `codes`, each listing its codes from the error table. */
export function errorResponses(
  schemaId: 'Error' | 'TutorialError',
  codes: readonly ErrorCode[],
): Record<string, Response> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes)
    byStatus.set(errorTable[code].status, [...(byStatus.get(errorTable[code].status) ?? []), code]);
  const responses: Record<string, Response> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const description = list.map((code) => `\`${code}\`: ${errorTable[code].description}`).join(' ');
    responses[String(status)] = { description, content: jsonOf(schemaId) };
  }
  responses['default'] = {
    description:
      'Any other error (`not_found`, `method_not_allowed` with `Allow`, `internal`; `headers_too_large`, 431, ' +
      'always in the `Error` shape since it is answered before routing).',
    content: jsonOf(schemaId),
  };
  return responses;
}

/** What every /jobs and /predict call may meet before its own work: API keys and the rate limit. */
export const clientCodes = ['unauthorized', 'rate_limited', 'unavailable'] as const satisfies readonly ErrorCode[];

/** What an image upload may meet (POST /jobs, POST /predict). */
export const uploadCodes = [
  ...clientCodes,
  'unknown_model',
  'no_worker',
  'queue_full',
  'redis_full',
  'missing_image',
  'empty_image',
  'invalid_image',
  'invalid_request',
  'payload_too_large',
  'unsupported_format',
  'corrupt_image',
  'image_too_large',
] as const satisfies readonly ErrorCode[];

/** Open API unless API_KEYS is set. */
export const clientSecurity: Record<string, string[]>[] = [{}, { apiKey: [] }];

/** Every error of a /v1 or /v2 route: its status and the front door's own shape, the code in the message. */
export const frontDoorErrors = (id: 'ReplicateError' | 'V2Error'): Record<string, Response> => ({
  default: {
    description:
      'Any error, with the status of its code in the error table (400, 401, 403, 404, 409, 413, 415, 422, 429, ' +
      '503, 504…).',
    content: jsonOf(id),
  },
});
