// One real Node client call: fetch with FormData + Blob, as browsers and Node 18+ code send it.
// Prints the top-1 label (for /jobs: after long-polling the wait link), or HTTP <status> <body>.
// usage: node node_client.js BASE_URL ROUTE PHOTO
import { readFile } from 'node:fs/promises';

const [base, route, path] = process.argv.slice(2);
const form = new FormData();
form.append('image', new Blob([await readFile(path)], { type: 'image/jpeg' }), 'photo.jpg');
let res = await fetch(base + route, { method: 'POST', body: form });
let body = await res.json();
let status = res.status;
while (route === '/jobs' && status === 202) {
  res = await fetch(`${base}${body.links.wait}?timeout=30`);
  body = await res.json();
  status = res.status;
}
const predictions = route === '/jobs' ? body.result?.predictions : body.predictions;
process.stdout.write(
  `${status === 200 && predictions ? predictions[0].label : `HTTP ${status} ${JSON.stringify(body)}`}\n`,
);
