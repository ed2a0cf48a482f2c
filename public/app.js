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
  unsupported_format: 'That image format is not accepted. Use JPEG, PNG, WebP, GIF or AVIF.',
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
};

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
};

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

function showError(error) {
  const code = error && typeof error.code === 'string' ? error.code : 'internal';
  const detail = error && typeof error.message === 'string' ? error.message : '';
  el.error.replaceChildren(document.createTextNode(plainWords[code] ?? plainWords.internal));
  if (detail) {
    const small = document.createElement('small');
    small.textContent = `${detail} (${code})`;
    el.error.append(small);
  }
  el.error.hidden = false;
  el.status.textContent = '';
}

const seconds = (from, to) => ((Date.parse(to) - Date.parse(from)) / 1000).toFixed(2);

function showResult(job) {
  const predictions = job.result.predictions;
  el.results.replaceChildren(
    ...predictions.map((p) => {
      const percent = 100 * p.probability;
      const li = document.createElement('li');
      const label = document.createElement('span');
      label.className = 'label';
      // Keras labels use underscores (bald_eagle); people read spaces.
      label.textContent = p.label.replaceAll('_', ' ');
      label.title = `${p.label} (class ${p.classId})`;
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('span');
      fill.style.width = `${percent.toFixed(1)}%`;
      bar.append(fill);
      const pct = document.createElement('span');
      pct.className = 'pct';
      pct.textContent = `${percent.toFixed(1)} %`;
      li.append(label, bar, pct);
      return li;
    }),
  );
  el.results.hidden = false;
  el.status.textContent =
    `Done: ${seconds(job.createdAt, job.startedAt)} s in the queue, ` +
    `${seconds(job.startedAt, job.finishedAt)} s running in a batch of ${job.batchSize}.`;
}

/** Draws the chosen image locally; a file the browser cannot decode simply gets no preview. */
async function showPreview(file) {
  el.preview.hidden = true;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, 480 / bitmap.width, 320 / bitmap.height);
    el.preview.width = Math.round(bitmap.width * scale);
    el.preview.height = Math.round(bitmap.height * scale);
    el.preview.getContext('2d').drawImage(bitmap, 0, 0, el.preview.width, el.preview.height);
    bitmap.close();
    el.preview.hidden = false;
  } catch {
    // Not decodable here; the service will say why in plain words.
  }
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
  el.status.textContent = statusText.uploading;
  void showPreview(file);

  const form = new FormData();
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

/** One row per image: its name, then its top label and probability, or why it failed in plain words. */
function showBatchResults(lines) {
  el.batch.replaceChildren(
    ...lines.map((line) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'file';
      name.textContent = line.filename;
      li.append(name);
      const top = line.status === 'completed' ? line.result.predictions[0] : undefined;
      if (top) {
        const label = document.createElement('span');
        label.textContent = top.label.replaceAll('_', ' ');
        const pct = document.createElement('span');
        pct.className = 'pct';
        pct.textContent = `${(100 * top.probability).toFixed(1)} %`;
        li.append(label, pct);
      } else {
        const bad = document.createElement('span');
        bad.className = 'bad';
        const code = line.error?.code ?? (line.status === 'failed' ? 'internal' : 'timeout');
        bad.textContent = plainWords[code] ?? plainWords.internal;
        bad.title = line.error ? `${line.error.message} (${code})` : code;
        li.append(bad);
      }
      return li;
    }),
  );
  el.batch.hidden = false;
}

/** Several images: one POST /batches, its progress from the batch long-poll, then its NDJSON results. */
async function classifyMany(files) {
  const mine = ++generation;
  reset();
  el.status.textContent = `Uploading ${files.length} images…`;
  const form = new FormData();
  for (const file of files) form.append('image', file, file.name);
  const submitted = await request('/batches', { method: 'POST', body: form });
  if (mine !== generation) return;
  if (submitted.status !== 202) return showError(submitted.body.error);

  const { links, total } = submitted.body;
  el.progress.max = total;
  el.progress.value = 0;
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
      el.progress.value = batch.completed + batch.failed;
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
  showBatchResults(lines);
}

/** One file keeps the detailed single-image view; several become a batch. */
function classifyFiles(files) {
  if (files.length === 1) void classify(files[0]);
  else if (files.length > 1) void classifyMany(files);
}

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
