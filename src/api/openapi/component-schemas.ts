import {
  InferenceResponseSchema,
  ModelMetadataSchema,
  ModelReadySchema,
  OpenInferenceErrorSchema,
  ServerLiveSchema,
  ServerMetadataSchema,
  ServerReadySchema,
} from '../open-inference/wire.js';
import {
  FilePageSchema,
  PredictionPageSchema,
  ReplicateErrorSchema,
  ReplicateFileSchema,
  ReplicateModelSchema,
  ReplicatePredictionSchema,
  WebhookSecretSchema,
} from '../replicate/wire.js';
import {
  BatchEntryViewSchema,
  BatchMessageSchema,
  BatchSubmittedSchema,
  BatchViewSchema,
  ErrorBodySchema,
  HealthSchema,
  JobEventSchema,
  JobMessageSchema,
  JobViewSchema,
  ModelsSchema,
  PredictionSchema,
  PredictResponseSchema,
  ReadySchema,
  TutorialErrorBodySchema,
} from '../wire.js';
import type { JsonSchema } from './openapi-document.js';
import { componentsOf } from './schema-fragments.js';

/** The bodies of the native API (its answers and webhook messages); a class is a $ref to Prediction. */
const nativeSchemas = () =>
  componentsOf([
    [
      JobViewSchema,
      { id: 'JobView', description: 'A job: its status, timestamps, and its result or error once finished.' },
    ],
    [
      PredictionSchema,
      { id: 'Prediction', description: 'One class: label, ImageNet class index, softmax probability.' },
    ],
    [PredictResponseSchema, { id: 'PredictResponse', description: "The Flask tutorial's success body." }],
    [ErrorBodySchema, { id: 'Error', description: 'Every error response except those of POST /predict.' }],
    [
      TutorialErrorBodySchema,
      { id: 'TutorialError', description: "POST /predict's error body, in the tutorial's shape." },
    ],
    [ModelsSchema, { id: 'Models', description: 'The served models: their input, classes, and live workers.' }],
    [HealthSchema, { id: 'Health', description: 'Liveness.' }],
    [ReadySchema, { id: 'Ready', description: 'Readiness.' }],
    [
      JobEventSchema,
      {
        id: 'JobEvent',
        description: 'One Server-Sent Event of GET /jobs/{id}/events, as its `event:` name and its `data:` (JSON).',
      },
    ],
    [
      BatchViewSchema,
      {
        id: 'BatchView',
        description: 'A batch: how many of its images have finished, and links to wait for it and read its results.',
      },
    ],
    [BatchSubmittedSchema, { id: 'BatchSubmitted', description: 'The answer to POST /batches.' }],
    [
      BatchEntryViewSchema,
      {
        id: 'BatchEntry',
        description: "One line of a batch's NDJSON results: an image in upload order, with its result or error.",
      },
    ],
    [
      JobMessageSchema,
      { id: 'JobWebhookMessage', description: "The body POSTed to a job's webhook once it has completed or failed." },
    ],
    [
      BatchMessageSchema,
      {
        id: 'BatchWebhookMessage',
        description: "The body POSTed to a batch's webhook once all its images have finished.",
      },
    ],
  ]);

/**
 * The bodies of the two drop-in front doors, from their own wire modules. Converted apart from the
 * native ones, so their components stand alone: a class inside a prediction is written out, not a
 * $ref into the native API.
 */
const dropInSchemas = () =>
  componentsOf([
    [ReplicatePredictionSchema, { id: 'ReplicatePrediction', description: 'A Replicate prediction.' }],
    [PredictionPageSchema, { id: 'ReplicatePredictionPage', description: 'A page of predictions.' }],
    [ReplicateFileSchema, { id: 'ReplicateFile', description: 'A file uploaded with POST /v1/files.' }],
    [FilePageSchema, { id: 'ReplicateFilePage', description: 'A page of files.' }],
    [ReplicateModelSchema, { id: 'ReplicateModel', description: 'A served model, as Replicate shows one.' }],
    [WebhookSecretSchema, { id: 'ReplicateWebhookSecret', description: 'The webhook signing secret.' }],
    [ReplicateErrorSchema, { id: 'ReplicateError', description: 'Every /v1 error (problem details).' }],
    [ServerLiveSchema, { id: 'V2ServerLive', description: 'Server liveness.' }],
    [ServerReadySchema, { id: 'V2ServerReady', description: 'Server readiness: every model has a worker.' }],
    [ServerMetadataSchema, { id: 'V2ServerMetadata', description: 'Server metadata.' }],
    [ModelMetadataSchema, { id: 'V2ModelMetadata', description: "A model's tensors." }],
    [ModelReadySchema, { id: 'V2ModelReady', description: 'Model readiness: a worker has it loaded.' }],
    [InferenceResponseSchema, { id: 'V2InferenceResponse', description: 'An inference response.' }],
    [OpenInferenceErrorSchema, { id: 'V2Error', description: 'Every /v2 error.' }],
  ]);

/** Every component schema the paths and webhooks refer to. */
export const componentSchemas = (): Record<string, JsonSchema> => ({ ...nativeSchemas(), ...dropInSchemas() });
