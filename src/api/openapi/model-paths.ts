import { clientCodes, clientSecurity, errorResponses } from './error-responses.js';
import type { Paths } from './openapi-document.js';
import { jsonOf } from './schema-fragments.js';

/** GET /models: what `model` on submit may name. */
export function modelPaths(): Paths {
  return {
    '/models': {
      get: {
        tags: ['models'],
        summary: 'The served models',
        description:
          'Each model this service serves (MODEL_DIRS): its name (what `model` on submit names), precision, ' +
          'input size and tensor layout, number of classes, and how many live workers have it loaded.',
        security: clientSecurity,
        responses: {
          '200': { description: 'The models.', content: jsonOf('Models') },
          ...errorResponses('Error', clientCodes),
        },
      },
    },
  };
}
