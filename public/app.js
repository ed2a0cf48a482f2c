// The page's only script: upload an image to POST /jobs, follow the job's Server-Sent Events
// and show the top 5; several images go to POST /batches as one batch, followed with the batch
// long-poll, with each image's top label. Plain DOM, no framework, nothing loaded from elsewhere.
'use strict';

/**
 * Seconds per batch long-poll. A finished batch answers at once whatever this is; it only bounds
 * how stale the progress bar may look, so it is short enough for a person watching.
 */
const waitSeconds = 2;
/** Failed long-polls or event-stream reconnections in a row (network, 5xx) tolerated before giving up. */
const maxWaitFailures = 3;

/** Plain words for each error code the service can answer with (README, "Errors"). */
const plainWords = {
  missing_image: 'No image reached the service. Choose a file and try again.',
  empty_image: 'That file is empty.',
  invalid_image: 'That file is not an image the service can read.',
  invalid_request: 'The service did not understand the request.',
  not_found: 'The service no longer knows this job; results are kept for a limited time.',
  payload_too_large: 'That file is too large to upload.',
  unsupported_format: 'That image format is not accepted. Use JPEG, PNG, WebP, GIF, AVIF or TIFF.',
  corrupt_image: 'The image looks damaged: it could not be decoded.',
  image_too_large: 'That image has too many pixels.',
  internal: 'Something went wrong on the server.',
  unavailable: 'The service is busy or restarting. Try again in a few seconds.',
  timeout: 'The service took too long to answer.',
  input_missing: 'The image expired before a worker got to it. Please upload it again.',
  inference_failed: 'The model failed on this image. Please try again.',
  unauthorized: 'This service requires an API key, which this page cannot send.',
  queue_full: 'The service is full right now. Try again in a few seconds.',
  rate_limited: 'Too many uploads this minute. Wait a little and try again.',
  expired: 'The job waited longer than its deadline and was not run. Please upload it again.',
  cancelled: 'The job was cancelled.',
  network: 'Could not reach the service. Check your connection and try again.',
  unknown_model: 'The service no longer serves that model. Reload the page to see the ones it does.',
  no_worker: 'No worker is running that model right now. Try again in a moment.',
};

/** What the service decodes; a file the browser types otherwise is refused here, before any preview. */
const acceptedTypes = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif', 'image/tiff']);

const el = {
  drop: document.getElementById('drop'),
  file: document.getElementById('file'),
  preview: document.getElementById('preview'),
  steps: document.getElementById('steps'),
  status: document.getElementById('status'),
  error: document.getElementById('error'),
  results: document.getElementById('results'),
  progress: document.getElementById('progress'),
  batch: document.getElementById('batch'),
  model: document.getElementById('model'),
  modelPicker: document.getElementById('model-picker'),
  hint: document.getElementById('hint'),
};

/** MAX_UPLOAD_BYTES, written into the page by the server. */
const maxUploadBytes = Number(document.getElementById('main').dataset.maxUploadBytes) || Infinity;
const megabytes = (bytes) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
if (Number.isFinite(maxUploadBytes)) el.hint.textContent += `; up to ${megabytes(maxUploadBytes)} each`;

/** Probabilities as people read them; a tiny one is "< 0.1 %" rather than a misleading "0.0 %". */
const percent = (p) => (p < 0.001 ? '< 0.1 %' : `${(100 * p).toFixed(1)} %`);

/** Each upload bumps this; a loop that sees a newer one stops, so only the latest job is shown. */
let generation = 0;

const statusText = {
  uploading: 'Uploading…',
  queued: 'Waiting in the queue…',
  active: 'A worker is running the model…',
  completed: 'Done.',
  failed: 'The job failed.',
};

/** Marks the steps before `status` done and `status` current (or failed). */
function showStep(status) {
  el.steps.hidden = false;
  const order = ['queued', 'active', 'completed'];
  const at = status === 'failed' ? order.length - 1 : order.indexOf(status);
  for (const li of el.steps.children) {
    const i = order.indexOf(li.dataset.step);
    li.className = i < at ? 'done' : i === at ? (status === 'failed' ? 'failed' : 'current') : '';
  }
  el.status.textContent = statusText[status] ?? '';
}

/** One message per failure: the plain words (or `sentence`, when the page knows better), then the code. */
function showError(error, sentence) {
  const code = error && typeof error.code === 'string' ? error.code : 'internal';
  const small = document.createElement('small');
  small.textContent = ` (${code})`;
  el.error.replaceChildren(document.createTextNode(sentence ?? plainWords[code] ?? plainWords.internal), small);
  el.error.hidden = false;
  el.status.textContent = '';
}

/** The checks the service would make first, made before anything is shown: size, then type. */
function refusal(file) {
  if (file.size > maxUploadBytes)
    return {
      code: 'payload_too_large',
      sentence: `${file.name} is ${megabytes(file.size)}; the limit is ${megabytes(maxUploadBytes)}.`,
    };
  if (file.type.startsWith('image/') && !acceptedTypes.has(file.type)) return { code: 'unsupported_format' };
  if (file.type && !file.type.startsWith('image/')) return { code: 'invalid_image' };
  return undefined;
}

const seconds = (from, to) => (Date.parse(to) - Date.parse(from)) / 1000;
const inWords = (s) => (s < 0.1 ? 'under 0.1 seconds' : `${s.toFixed(1)} seconds`);

function showResult(job) {
  const predictions = job.result.predictions;
  el.results.replaceChildren(
    ...predictions.map((p) => {
      const li = document.createElement('li');
      const label = document.createElement('span');
      label.className = 'label';
      // Keras labels use underscores (bald_eagle); people read spaces.
      label.textContent = p.label.replaceAll('_', ' ');
      label.title = `${p.label} (class ${p.classId})`;
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('span');
      fill.style.width = `${(100 * p.probability).toFixed(1)}%`;
      bar.append(fill);
      const pct = document.createElement('span');
      pct.className = 'pct';
      pct.textContent = percent(p.probability);
      li.append(label, bar, pct);
      return li;
    }),
  );
  el.results.hidden = false;
  const waited = seconds(job.createdAt, job.startedAt);
  el.status.textContent =
    `Answered by ${job.result.model} in ${inWords(seconds(job.createdAt, job.finishedAt))}` +
    (waited >= 0.5 ? `, ${inWords(waited)} of it waiting for a free worker.` : '.');
}

/** Draws `file` into `canvas`, at most `width` x `height`; a file the browser cannot decode simply gets none. */
async function drawImage(file, canvas, width, height) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, width / bitmap.width, height / bitmap.height);
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return true;
  } catch {
    // Not decodable here; the service will say why in plain words.
    return false;
  }
}

async function showPreview(file) {
  el.preview.hidden = true;
  if (await drawImage(file, el.preview, 480, 320)) el.preview.hidden = false;
}

/** The model field, first: a batch upload must name its model before its first image. */
function newForm() {
  const form = new FormData();
  if (el.model.value) form.append('model', el.model.value);
  return form;
}

/** fetch + JSON body; a network failure becomes status 0 with the `network` error. */
async function request(url, init) {
  try {
    const res = await fetch(url, init);
    const body = await res.json().catch(() => ({}));
    return { status: res.status, body };
  } catch {
    return { status: 0, body: { error: { code: 'network', message: `no answer from ${location.host}` } } };
  }
}

/** Hides everything a previous upload showed. */
function reset() {
  el.error.hidden = true;
  el.results.hidden = true;
  el.steps.hidden = true;
  el.preview.hidden = true;
  el.progress.hidden = true;
  el.batch.hidden = true;
}

async function classify(file) {
  const mine = ++generation;
  reset();
  const refused = refusal(file);
  if (refused) return showError(refused, refused.sentence);
  el.status.textContent = statusText.uploading;
  void showPreview(file);

  const form = newForm();
  form.append('image', file, file.name);
  const submitted = await request('/jobs', { method: 'POST', body: form });
  if (mine !== generation) return;
  if (submitted.status !== 202 && submitted.status !== 200) return showError(submitted.body.error);

  let job = submitted.body;
  showStep(job.status);
  if (job.status !== 'completed' && job.status !== 'failed') job = await follow(job, mine);
  if (!job || mine !== generation) return;
  if (job.status === 'failed') return showError(job.error);
  showResult(job);
}

/**
 * Follows a job through GET /jobs/:id/events (one stream, not repeated polls, so watching a job
 * never trips the rate limit): each event lights up its step, "Running" as soon as a worker starts
 * the job. Resolves with the terminal view, or shows an error and resolves with undefined.
 */
function follow(job, mine) {
  return new Promise((resolve) => {
    const source = new EventSource(`${job.links.self}/events`);
    let failures = 0;
    const done = (value) => {
      source.close();
      resolve(value);
    };
    for (const status of ['queued', 'active', 'completed', 'failed']) {
      source.addEventListener(status, (event) => {
        if (mine !== generation) return done(undefined);
        failures = 0;
        const view = JSON.parse(event.data);
        showStep(view.status);
        // The stream ends after the terminal event; closing stops EventSource reconnecting.
        if (status === 'completed' || status === 'failed') done(view);
      });
    }
    // EventSource reconnects by itself after a dropped connection; give up after a few in a row,
    // or at once when the service refused the stream (an HTTP error closes it for good).
    source.onerror = async () => {
      if (mine !== generation) return done(undefined);
      if (source.readyState === EventSource.CLOSED || ++failures > maxWaitFailures) {
        source.close();
        const current = await request(job.links.self);
        if (mine !== generation) return resolve(undefined);
        if (current.status === 200 && (current.body.status === 'completed' || current.body.status === 'failed'))
          return resolve(current.body);
        showError(
          current.status === 200
            ? { code: 'network', message: `lost the connection to ${location.host}` }
            : current.body.error,
        );
        return resolve(undefined);
      }
      el.status.textContent = 'Connection trouble; trying again…';
    };
  });
}

/** One row per image: a thumbnail, its name, then its top 3 labels, or why it failed in plain words. */
function showBatchResults(lines, files) {
  el.batch.replaceChildren(
    ...lines.map((line) => {
      const li = document.createElement('li');
      const thumb = document.createElement('canvas');
      thumb.setAttribute('aria-hidden', 'true');
      const file = files[line.index];
      if (file) void drawImage(file, thumb, 128, 128);
      const text = document.createElement('div');
      const name = document.createElement('div');
      name.className = 'file';
      name.textContent = line.filename;
      text.append(name);
      if (line.status === 'completed') {
        const top3 = document.createElement('ol');
        top3.className = 'top3';
        for (const p of line.result.predictions.slice(0, 3)) {
          const row = document.createElement('li');
          const label = document.createElement('span');
          label.textContent = p.label.replaceAll('_', ' ');
          const pct = document.createElement('span');
          pct.className = 'pct';
          pct.textContent = percent(p.probability);
          row.append(label, pct);
          top3.append(row);
        }
        text.append(top3);
      } else {
        const bad = document.createElement('div');
        bad.className = 'bad';
        const code = line.error?.code ?? (line.status === 'failed' ? 'internal' : 'timeout');
        bad.textContent = plainWords[code] ?? plainWords.internal;
        bad.title = code;
        text.append(bad);
      }
      li.append(thumb, text);
      return li;
    }),
  );
  el.batch.hidden = false;
}

function showProgress(done, total) {
  el.progress.firstElementChild.style.width = `${total ? (100 * done) / total : 0}%`;
  el.progress.setAttribute('aria-valuenow', String(done));
  el.progress.setAttribute('aria-valuemax', String(total));
}

/** Several images: one POST /batches, its progress from the batch long-poll, then its NDJSON results. */
async function classifyMany(files) {
  const mine = ++generation;
  reset();
  // One file of the wrong type fails only its own entry (the service says so); one too large fails the upload.
  const refused = files.map(refusal).find((r) => r?.code === 'payload_too_large');
  if (refused) return showError(refused, refused.sentence);
  el.status.textContent = `Uploading ${files.length} images…`;
  const form = newForm();
  for (const file of files) form.append('image', file, file.name);
  const submitted = await request('/batches', { method: 'POST', body: form });
  if (mine !== generation) return;
  if (submitted.status !== 202) return showError(submitted.body.error);

  const { links, total } = submitted.body;
  showProgress(0, total);
  el.progress.hidden = false;
  let batch = { status: 'queued', completed: 0, failed: 0, total };
  let failures = 0;
  while (batch.status !== 'completed') {
    el.status.textContent = `${batch.completed + batch.failed} of ${total} images done…`;
    const waited = await request(`${links.wait}?timeout=${waitSeconds}`);
    if (mine !== generation) return;
    if (waited.status === 200 || waited.status === 202) {
      batch = waited.body;
      failures = 0;
      showProgress(batch.completed + batch.failed, total);
    } else if (++failures > maxWaitFailures || (waited.status >= 400 && waited.status < 500)) {
      return showError(waited.body.error);
    } else {
      el.status.textContent = 'Connection trouble; trying again…';
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  let lines;
  try {
    const res = await fetch(links.results);
    if (!res.ok) return showError((await res.json().catch(() => ({}))).error);
    lines = (await res.text())
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  } catch {
    return showError({ code: 'network', message: `no answer from ${location.host}` });
  }
  if (mine !== generation) return;
  const failed = batch.failed ? `, ${batch.failed} failed` : '';
  el.status.textContent = `Done: ${batch.completed} of ${total} images classified${failed}.`;
  showBatchResults(lines, files);
}

/** One file keeps the detailed single-image view; several become a batch. */
function classifyFiles(files) {
  if (files.length === 1) void classify(files[0]);
  else if (files.length > 1) void classifyMany(files);
}

/** The model picker, from GET /models: the default first selected; the page still works without it. */
async function loadModels() {
  const { status, body } = await request('/models');
  if (status !== 200 || !Array.isArray(body.models)) return;
  el.model.replaceChildren(
    ...body.models.map((m) => {
      const option = document.createElement('option');
      option.value = m.name;
      option.textContent = `${m.name} (${m.precision})`;
      option.selected = m.name === body.default;
      return option;
    }),
  );
  el.modelPicker.hidden = false;
}
void loadModels();

el.file.addEventListener('change', () => classifyFiles([...el.file.files]));

// The whole page takes drops: a file dropped beside the zone would otherwise replace the page.
document.addEventListener('dragover', (event) => {
  event.preventDefault();
  el.drop.classList.add('over');
});
document.addEventListener('dragleave', (event) => {
  if (!event.relatedTarget) el.drop.classList.remove('over');
});
document.addEventListener('drop', (event) => {
  event.preventDefault();
  el.drop.classList.remove('over');
  classifyFiles([...event.dataTransfer.files]);
});
