import { SubmitQuerySchema } from '../wire.js';
import { clientSecurity, errorResponses, uploadCodes } from './error-responses.js';
import type { Paths } from './openapi-document.js';
import { jsonOf, parametersOf } from './schema-fragments.js';
import { uploadBody } from './upload-body.js';

/** POST /predict: the Flask + Keras tutorial's synchronous call. */
export function predictPaths(): Paths {
  return {
    '/predict': {
      post: {
        tags: ['tutorial'],
        summary: "The Flask + Keras tutorial's endpoint, unchanged",
        description:
          'Submits through the same queue and waits up to PREDICT_TIMEOUT_SECONDS. Top 5, Keras labels. ' +
          "Errors use the tutorial's shape. `model` (query or multipart field) picks the model, as for POST /jobs.",
        parameters: parametersOf(SubmitQuerySchema.pick({ model: true }), 'query'),
        requestBody: uploadBody,
        security: clientSecurity,
        responses: {
          '200': { description: 'The top 5 classes.', content: jsonOf('PredictResponse') },
          ...errorResponses('TutorialError', [
            ...uploadCodes,
            'timeout',
            'expired',
            'input_missing',
            'inference_failed',
          ]),
        },
      },
    },
  };
}
