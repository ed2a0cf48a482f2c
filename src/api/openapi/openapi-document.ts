import type { CodeSample } from './openapi-examples.js';

/** The shapes of an OpenAPI 3.1 document, as far as this service's document uses them. */

export type JsonSchema = Record<string, unknown>;
export type Content = Record<string, { schema?: JsonSchema }>;
export interface Response {
  description: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  content?: Content;
}
export interface Parameter {
  name: string;
  in: 'query' | 'path' | 'header';
  required: boolean;
  description: string;
  schema: JsonSchema;
}
export interface Operation {
  summary: string;
  description?: string;
  tags: string[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; description: string; content: Content };
  responses: Record<string, Response>;
  security?: Record<string, string[]>[];
  /** Request examples, shown by the reference page at /docs. */
  'x-codeSamples'?: CodeSample[];
}
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type Paths = Record<string, Partial<Record<HttpMethod, Operation>>>;

export interface OpenApiDocument {
  openapi: '3.1.1';
  info: { title: string; version: string; description: string };
  tags: { name: string; description: string; 'x-displayName'?: string; 'x-traitTag'?: boolean }[];
  paths: Paths;
  /** What this service POSTs to a submission's `webhook` URL (OpenAPI 3.1 webhooks). */
  webhooks: Record<string, { post: Operation }>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
}
