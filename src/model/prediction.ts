import { z } from 'zod';

/** One class of a classification: what top-k produces and every result carries. */
export const PredictionSchema = z.object({
  label: z.string(),
  classId: z.number().int().min(0),
  probability: z.number().min(0).max(1),
});
export type Prediction = z.infer<typeof PredictionSchema>;
