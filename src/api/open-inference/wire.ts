import { z } from 'zod';

/**
 * The wire contract of the Open Inference Protocol v2 REST front door (/v2, KServe and Triton
 * clients), with Triton's binary tensor and classification extensions: routes parse and build with
 * these, and the OpenAPI document is made of them.
 */

/** Every /v2 error: `{"error": "…"}` with a 4xx or 5xx status, as the Open Inference Protocol's REST spec says. */
export const OpenInferenceErrorSchema = z.object({ error: z.string() });
export type OpenInferenceError = z.infer<typeof OpenInferenceErrorSchema>;

/** The only version of each model: a served model has one file. */
export const modelVersion = '1';
/** Tensor names in model metadata: the model's one input and its one output. */
export const inputName = 'input';
export const outputName = 'output';

export const ServerLiveSchema = z.object({ live: z.boolean() });
export const ServerReadySchema = z.object({ ready: z.boolean() });
export const ModelReadySchema = z.object({ name: z.string(), ready: z.boolean() });

export const ServerMetadataSchema = z.object({
  name: z.string(),
  version: z.string(),
  extensions: z.array(z.string()).meta({ description: "`binary_tensor_data` and `classification` (Triton's)." }),
});

const MetadataTensorSchema = z.object({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.number().int()).meta({ description: '-1 for the batch dimension.' }),
});

export const ModelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.literal('onnxruntime_onnx'),
  inputs: z.array(MetadataTensorSchema),
  outputs: z.array(MetadataTensorSchema),
});

const ParametersSchema = z.record(z.string(), z.unknown());

/** One input tensor: `data` in JSON, or `parameters.binary_data_size` bytes after the JSON (binary extension). */
export const RequestInputSchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  datatype: z.string(),
  parameters: ParametersSchema.optional(),
  data: z.array(z.unknown()).optional(),
});

export const RequestOutputSchema = z.object({
  name: z.string(),
  parameters: z
    .object({
      classification: z.number().int().min(1).max(20).optional().meta({
        description: 'Triton classification extension: the top k as BYTES `"<logit>:<index>:<label>"` strings.',
      }),
      binary_data: z.boolean().optional().meta({ description: 'Return this output as binary data after the JSON.' }),
    })
    .loose()
    .optional(),
});

export const InferenceRequestSchema = z.object({
  id: z.string().optional(),
  parameters: ParametersSchema.optional(),
  inputs: z.array(RequestInputSchema).min(1),
  outputs: z.array(RequestOutputSchema).optional(),
});
export type InferenceRequest = z.infer<typeof InferenceRequestSchema>;

export const ResponseOutputSchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int()),
  datatype: z.enum(['FP32', 'BYTES']),
  parameters: z.object({ binary_data_size: z.number().int() }).optional(),
  data: z
    .union([z.array(z.number()), z.array(z.string())])
    .optional()
    .meta({ description: 'FP32 logits, or BYTES classification strings.' }),
});
export type ResponseOutput = z.infer<typeof ResponseOutputSchema>;

export const InferenceResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string(),
  outputs: z.array(ResponseOutputSchema),
});
export type InferenceResponse = z.infer<typeof InferenceResponseSchema>;
