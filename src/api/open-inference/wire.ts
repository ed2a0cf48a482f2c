import { z } from 'zod';

/** Every /v2 error: `{"error": "…"}` with a 4xx or 5xx status, as the Open Inference Protocol's REST spec says. */
export const OpenInferenceErrorSchema = z.object({ error: z.string() });
export type OpenInferenceError = z.infer<typeof OpenInferenceErrorSchema>;
