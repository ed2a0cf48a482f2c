import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../config.js';
import { batchPaths } from './batch-paths.js';
import { componentSchemas } from './component-schemas.js';
import { jobPaths } from './job-paths.js';
import { modelPaths } from './model-paths.js';
import { openInferencePaths } from './open-inference-paths.js';
import type { OpenApiDocument } from './openapi-document.js';
import { codeSamples, errorTableMarkdown } from './openapi-examples.js';
import { operationsPaths } from './operations-paths.js';
import { pagePaths } from './page-paths.js';
import { predictPaths } from './predict-paths.js';
import { replicatePaths } from './replicate-paths.js';
import { webhookOperations } from './webhook-operations.js';

/** The document's version is the package's: one number to bump per release. */
const packageVersion = (): string =>
  (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

// In the order a user meets them; Redoc lists tags as given. The error table is a section of its
// own at the end (`x-traitTag`: a description, no operations) rather than before the first route.
const tags = (): OpenApiDocument['tags'] => [
  { name: 'jobs', description: 'Asynchronous classification.' },
  { name: 'tutorial', 'x-displayName': 'predict', description: 'Drop-in for the Flask + Keras tutorial.' },
  { name: 'batches', description: 'Many images in one upload.' },
  { name: 'models', description: 'The models served, chosen with `model` on submit.' },
  { name: 'webhooks', description: "What this service sends to a submission's webhook URL." },
  {
    name: 'replicate',
    description:
      "Replicate's predictions API, for the official `replicate` clients (`baseUrl: http://host:5000/v1`, " +
      'models `local/<name>`): the same jobs, keys, limits and webhook signer. See docs/drop-in.md.',
  },
  {
    name: 'open-inference',
    description:
      "The Open Inference Protocol v2 REST API (KServe, Triton), with Triton's binary tensor and classification " +
      'extensions. Errors are `{"error": "…"}`.',
  },
  { name: 'operations', description: 'Health, metrics, this documentation and the web page at /.' },
  {
    name: 'errors',
    'x-traitTag': true,
    description: [
      'Every error is `{"error": {"code", "message"}}` (POST /predict: `{"success": false, "error", "code"}`) ' +
        'with a stable code:',
      errorTableMarkdown(),
    ].join('\n\n'),
  },
];

/**
 * The OpenAPI 3.1 document of every route the router serves (a test keeps the two in step), one
 * module per route group, all generated from the wire schemas the routes parse and build with.
 */
export function buildOpenApiDocument(): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {
    ...jobPaths(),
    ...batchPaths(),
    ...predictPaths(),
    ...modelPaths(),
    ...operationsPaths(),
    ...pagePaths(),
    ...replicatePaths(),
    ...openInferencePaths(),
  };
  for (const [route, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      const samples = codeSamples[`${method} ${route}`];
      if (samples) op['x-codeSamples'] = samples;
    }
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'resnet-queue',
      version: packageVersion(),
      description: [
        'Image classification (ResNet-50, ImageNet-1k, or any ONNX classifier; several at once) through a Redis ' +
          'job queue. Submit with POST /jobs, then poll GET /jobs/{id}, long-poll GET /jobs/{id}/wait or follow ' +
          "GET /jobs/{id}/events (Server-Sent Events); POST /predict is the Flask tutorial's synchronous call.",
        'With RATE_LIMIT_PER_MINUTE set, /jobs and /predict answers carry `RateLimit-Policy` and `RateLimit` ' +
          '(IETF draft: quota `q` per `w` seconds, `r` remaining, reset in `t` seconds).',
      ].join('\n\n'),
    },
    tags: tags(),
    paths,
    webhooks: webhookOperations(),
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'One of API_KEYS, when set. Each job is visible only to the key that created it.',
        },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when set.' },
      },
    },
  };
}
