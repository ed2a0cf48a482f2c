import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { HttpMethod, OpenApiDocument } from '../../src/api/openapi/openapi-document.js';

// ajv-formats is CommonJS with a default export; under NodeNext its callable sits on .default's type.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** Where the document's components live for ajv: `#/components/...` refs are rebased onto it. */
const base = 'https://resnet-queue.test/openapi.json';

export interface CheckedResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * Checks real responses against a published OpenAPI 3.1 document with a JSON Schema 2020-12
 * validator (ajv, strict, formats checked): the status must be documented (or fall to `default`),
 * the content type must be one the document lists, and a JSON body must match its schema.
 */
export class ResponseValidator {
  private readonly ajv = new Ajv2020({ strict: true, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly doc: OpenApiDocument) {
    addFormats(this.ajv);
    this.ajv.addKeyword('components');
    this.ajv.addSchema({ $id: base, components: doc.components });
  }

  /** Compiles a schema of the document (strict mode rejects anything that is not valid 2020-12). */
  compile(schema: unknown): ValidateFunction {
    const text = JSON.stringify(schema);
    let validate = this.compiled.get(text);
    if (!validate) {
      validate = this.ajv.compile(JSON.parse(text.replaceAll('"#/components/', `"${base}#/components/`)) as object);
      this.compiled.set(text, validate);
    }
    return validate;
  }

  /** Problems with one message POSTed to a webhook (the document's `webhooks`), as readable lines. */
  messageProblems(webhook: string, body: unknown): string[] {
    const schema = this.doc.webhooks[webhook]?.post.requestBody?.content['application/json']?.schema;
    if (!schema) return [`no webhook ${webhook} with a JSON body in the document`];
    const validate = this.compile(schema);
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `${webhook} body${e.instancePath} ${e.message ?? ''}`);
  }

  /** Problems with one response, as readable lines; empty when it conforms. */
  problems(method: HttpMethod, path: string, res: CheckedResponse): string[] {
    const operation = this.doc.paths[path]?.[method];
    if (!operation) return [`${method.toUpperCase()} ${path} is not in the document`];
    const documented = operation.responses[String(res.status)] ?? operation.responses['default'];
    if (!documented) return [`status ${res.status} is not documented for ${method.toUpperCase()} ${path}`];
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const media = documented.content?.[type];
    if (!media) return [`content type "${type}" is not documented for ${res.status}`];
    if (!media.schema) return [];
    const validate = this.compile(media.schema);
    if (validate(res.body)) return [];
    return (validate.errors ?? []).map((e) => `${res.status} body${e.instancePath} ${e.message ?? ''}`);
  }
}
