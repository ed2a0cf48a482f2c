import { z } from 'zod';
import type { Content, JsonSchema, Parameter } from './openapi-document.js';

/**
 * A schema as part of the document: without its own $schema (the document's dialect applies)
 * or $id (zod sets it to the $ref URI, and an $id may not carry a fragment).
 */
export function embedded(schema: JsonSchema): JsonSchema {
  const copy = { ...schema };
  delete copy['$schema'];
  delete copy['$id'];
  return copy;
}

/** JSON Schema of one zod schema, as a fragment of the document. */
export const fragment = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema =>
  embedded(z.toJSONSchema(schema, { io }));

/**
 * The parameters of one wire schema (an object of query fields, headers or path segments):
 * name, requiredness, description and schema all come from the zod schema the route parses with.
 */
export function parametersOf(schema: z.ZodObject, where: Parameter['in']): Parameter[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const { description, ...rest } = fragment(field as z.ZodType, 'input');
    const required = where === 'path' || !(field as z.ZodType).safeParse(undefined).success;
    return { name, in: where, required, description: typeof description === 'string' ? description : '', schema: rest };
  });
}

/**
 * Response shapes as components, converted once from the very schemas the routes build their
 * bodies from. A listed schema nested in another (Prediction inside JobView) becomes a $ref.
 */
export function componentsOf(entries: [z.ZodType, { id: string; description: string }][]): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string; description: string }>();
  for (const [schema, meta] of entries) registry.add(schema, meta);
  const { schemas } = z.toJSONSchema(registry, { io: 'output', uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, embedded(schema as JsonSchema)]));
}

/** A JSON body of the component `id`. */
export const jsonOf = (id: string): Content => ({
  'application/json': { schema: { $ref: `#/components/schemas/${id}` } },
});

/**
 * A JSON request body, described by the zod schema its route parses with, as that parse reads it
 * (input): a property a non-strict object does not name is dropped, not refused.
 */
export const requestJsonOf = (schema: z.ZodType): Content => ({
  'application/json': { schema: fragment(schema, 'input') },
});

/** A path segment the route reads as a plain string. */
export const pathParameter = (name: string, description: string): Parameter => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});
