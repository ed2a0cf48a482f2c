import { errorTable, type ErrorCode } from '../../errors.js';

/** A request example as Redoc shows it beside an operation (`x-codeSamples`). */
export interface CodeSample {
  lang: string;
  label: string;
  source: string;
}

const photo = '../shared/images/eagle.jpg';
const base = 'http://localhost:5000';

/** Examples by operation (`method path`), each runnable as written against `npm start` from a fresh clone. */
export const codeSamples: Readonly<Record<string, CodeSample[]>> = {
  'post /jobs': [
    { lang: 'Shell', label: 'curl (multipart)', source: `curl -X POST -F image=@${photo} '${base}/jobs?topk=3'` },
    {
      lang: 'Shell',
      label: 'curl (another model)',
      source: `curl -X POST -F image=@${photo} '${base}/jobs?model=resnet50-v1.5'`,
    },
    {
      lang: 'Shell',
      label: 'curl (raw body, wait)',
      source: `curl -X POST --data-binary @${photo} -H 'Content-Type: image/jpeg' -H 'Prefer: wait=10' ${base}/jobs`,
    },
    {
      lang: 'Shell',
      label: 'curl (JSON, base64)',
      source:
        `curl -X POST -H 'Content-Type: application/json' ` +
        `-d "{\\"image\\": \\"$(base64 -w0 ${photo})\\"}" ${base}/jobs`,
    },
    {
      lang: 'JavaScript',
      label: 'fetch',
      source: [
        'const form = new FormData();',
        `form.append('image', new Blob([await fs.readFile('${photo}')]), 'eagle.jpg');`,
        `const job = await (await fetch('${base}/jobs', { method: 'POST', body: form })).json();`,
      ].join('\n'),
    },
  ],
  'get /models': [{ lang: 'Shell', label: 'curl', source: `curl ${base}/models` }],
  'get /jobs/{id}': [{ lang: 'Shell', label: 'curl', source: `curl ${base}/jobs/6f1c0d2e-…` }],
  'get /jobs/{id}/wait': [{ lang: 'Shell', label: 'curl', source: `curl '${base}/jobs/6f1c0d2e-…/wait?timeout=30'` }],
  'delete /jobs/{id}': [{ lang: 'Shell', label: 'curl', source: `curl -X DELETE ${base}/jobs/6f1c0d2e-…` }],
  'post /predict': [
    { lang: 'Shell', label: 'curl', source: `curl -X POST -F image=@${photo} ${base}/predict` },
    {
      lang: 'Python',
      label: 'requests (the tutorial)',
      source: [
        'import requests',
        `r = requests.post('${base}/predict', files={'image': open('${photo}', 'rb').read()})`,
        'print(r.json())',
      ].join('\n'),
    },
  ],
};

/** The error catalogue as a Markdown table, for the document's description (one source: src/errors.ts). */
export function errorTableMarkdown(): string {
  const rows = (Object.entries(errorTable) as [ErrorCode, (typeof errorTable)[ErrorCode]][]).map(
    ([code, { status, description }]) =>
      `| \`${code}\` | ${status} | ${description.replace(/\|/g, '\\|').replace(/</g, '&lt;')} |`,
  );
  return ['| code | status | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
