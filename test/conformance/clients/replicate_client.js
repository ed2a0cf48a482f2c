// The official Replicate client (npm `replicate`, 1.x), unchanged, against this service's /v1.
// Prints the top-1 label, or the error. usage: node replicate_client.js BASE_URL MODEL PHOTO buffer|data-uri
import { readFile } from 'node:fs/promises';
import Replicate from 'replicate';

const [base, model, path, how] = process.argv.slice(2);
const replicate = new Replicate({ baseUrl: `${base}/v1` });
const bytes = await readFile(path);
// With its default settings the client uploads a Buffer through POST /v1/files and sends the file's URL.
const image = how === 'buffer' ? bytes : `data:image/jpeg;base64,${bytes.toString('base64')}`;
try {
  const output = await replicate.run(`local/${model}`, { input: { image } });
  process.stdout.write(`${output[0].label}\n`);
} catch (err) {
  process.stdout.write(`${err.message}\n`);
}
