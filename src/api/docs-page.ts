import type { HttpMethod, OpenApiDocument, Operation } from './openapi.js';

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** `code` spans for backticks in descriptions; everything else stays escaped text. */
const prose = (text: string | undefined) => escapeHtml(text ?? '').replace(/`([^`]+)`/g, '<code>$1</code>');

/** Pretty JSON with each component $ref turned into a link to that schema further down the page. */
function schemaHtml(schema: unknown): string {
  return escapeHtml(JSON.stringify(schema, null, 2)).replace(
    /&quot;#\/components\/schemas\/([A-Za-z0-9_]+)&quot;/g,
    (_m, id: string) => `<a href="#schema-${id}">&quot;#/components/schemas/${id}&quot;</a>`,
  );
}

/** A component reference as a link to it; any other schema folded under a summary. */
function details(label: string, schema: Record<string, unknown> | undefined): string {
  if (schema === undefined) return '';
  const ref = /^#\/components\/schemas\/([A-Za-z0-9_]+)$/.exec(String(schema['$ref']));
  if (ref && Object.keys(schema).length === 1) return ` <a href="#schema-${ref[1]!}">${ref[1]!}</a>`;
  return `<details><summary>${escapeHtml(label)}</summary><pre>${schemaHtml(schema)}</pre></details>`;
}

function operationHtml(path: string, method: HttpMethod, op: Operation): string {
  const parameters = op.parameters?.length
    ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>meaning</th><th>schema</th></tr>${op.parameters
        .map((p) => `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${p.in}</td><td>${p.required ? 'yes' : 'no'}</td><td>${prose(p.description)}</td><td>${details('schema', p.schema)}</td></tr>`)
        .join('')}</table>`
    : '';
  const body = op.requestBody
    ? `<h4>Request body</h4><p>${prose(op.requestBody.description)}</p><ul>${Object.entries(op.requestBody.content)
        .map(([type, media]) => `<li><code>${escapeHtml(type)}</code>${details('schema', media.schema)}</li>`)
        .join('')}</ul>`
    : '';
  const responses = `<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th></tr>${Object.entries(op.responses)
    .map(([status, r]) => {
      const content = Object.entries(r.content ?? {})
        .map(([type, media]) => `<code>${escapeHtml(type)}</code>${details('schema', media.schema)}`)
        .join('');
      return `<tr><td>${escapeHtml(status)}</td><td>${prose(r.description)}</td><td>${content}</td></tr>`;
    })
    .join('')}</table>`;
  return `<section class="op"><h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
<p><strong>${prose(op.summary)}</strong></p>${op.description ? `<p>${prose(op.description)}</p>` : ''}${parameters}${body}${responses}</section>`;
}

const style = `body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f5f5f7;padding:.75rem;overflow:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.op{border-top:1px solid #ccc;padding-top:.5rem}.method{display:inline-block;min-width:4rem;color:#fff;padding:0 .4rem;border-radius:3px}
.get{background:#1f6feb}.post{background:#2da44e}.put,.patch{background:#bf8700}.delete{background:#cf222e}`;

/**
 * The document as one self-contained page, rendered on the server: no script, no stylesheet or
 * font from elsewhere, so it works offline and under a strict Content-Security-Policy.
 */
export function renderDocsPage(doc: OpenApiDocument): string {
  const methods: HttpMethod[] = ['get', 'post', 'put', 'patch', 'delete'];
  const sections = doc.tags
    .map((tag) => {
      const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
        methods.flatMap((m) => (item[m]?.tags.includes(tag.name) ? [operationHtml(path, m, item[m])] : [])),
      );
      // What the service sends to webhook URLs, under the name the document gives each message.
      for (const [name, hook] of Object.entries(doc.webhooks)) if (hook.post.tags.includes(tag.name)) ops.push(operationHtml(name, 'post', hook.post));
      return `<h2>${escapeHtml(tag.name)}</h2><p>${prose(tag.description)}</p>${ops.join('\n')}`;
    })
    .join('\n');
  const schemas = Object.entries(doc.components.schemas)
    .map(([id, schema]) => `<h3 id="schema-${escapeHtml(id)}">${escapeHtml(id)}</h3><pre>${schemaHtml(schema)}</pre>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(doc.info.title)} API</title><style>${style}</style></head>
<body><h1>${escapeHtml(doc.info.title)} <small>API ${escapeHtml(doc.info.version)}</small></h1>
<p>${prose(doc.info.description)}</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(doc.openapi)}).</p>
${sections}
<h2>Schemas</h2>${schemas}
</body></html>`;
}
