import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { BatchEntryViewSchema, BatchViewSchema, type BatchView } from '../api/wire.js';
import type { ClassifyArgs } from './classify-args.js';
import { call, exitCodes, Failure, httpFailure, jobFailure, parseReply, type FileResult } from './service-call.js';

/** Longest single long-poll while following a batch, seconds: the progress line is redrawn at least this often. */
const progressSeconds = 1;
const barWidth = 30;

const SubmittedSchema = BatchViewSchema.pick({ id: true, total: true, links: true });

export interface ProgressIo {
  err(text: string): void;
  tty?: boolean;
}

/** Draws the batch's progress on stderr: a bar redrawn in place on a terminal, a line per 10 % elsewhere. */
function progressPrinter(io: ProgressIo): (view: BatchView) => void {
  let lastStep = -1;
  return (view) => {
    const finished = view.completed + view.failed;
    const fraction = view.total === 0 ? 1 : finished / view.total;
    const counts = `${finished}/${view.total} images${view.failed > 0 ? ` (${view.failed} failed)` : ''}`;
    const done = view.status === 'completed';
    if (io.tty) {
      const filled = Math.round(fraction * barWidth);
      const bar = `${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}`;
      const percent = String(Math.floor(fraction * 100)).padStart(3);
      io.err(`\r[${bar}] ${percent}%  ${counts}${done ? '\n' : ''}`);
      return;
    }
    const step = Math.floor(fraction * 10);
    if (step === lastStep && !done) return;
    lastStep = step;
    io.err(`classify: batch ${view.id}: ${counts}${done ? ', done' : ''}\n`);
  };
}

/**
 * `classify --batch`: every readable file goes in one POST /batches (streamed from disk), the
 * batch is followed through its long-poll with a progress line, and its NDJSON results are
 * mapped back onto the files by upload position. A failure of the batch as a whole (refused,
 * unreachable) becomes every sent file's error.
 */
export async function classifyBatch(
  files: readonly string[],
  args: ClassifyArgs,
  deadlineMs: number,
  io: ProgressIo,
): Promise<FileResult[]> {
  const results: FileResult[] = files.map((file) => ({ file, status: 'not_submitted', exitCode: exitCodes.ok }));
  const form = new FormData();
  /** Argument position of each uploaded part. */
  const sent: number[] = [];
  // Before the images: the service needs the model to preprocess the first one.
  if (args.model !== undefined) form.append('model', args.model);
  for (const [i, file] of files.entries()) {
    try {
      form.append('image', await openAsBlob(file), path.basename(file));
      sent.push(i);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      results[i] = {
        ...results[i]!,
        error: { code: 'unreadable_file', message: `cannot read ${file}: ${reason}` },
        exitCode: exitCodes.badInput,
      };
    }
  }
  if (sent.length === 0) return results;
  try {
    const headers: Record<string, string> = args.apiKey === undefined ? {} : { Authorization: `Bearer ${args.apiKey}` };
    const submitted = await call(`${args.url}/batches`, { method: 'POST', body: form, headers }, deadlineMs);
    if (submitted.status !== 202)
      throw httpFailure(
        submitted,
        submitted.status >= 400 && submitted.status < 500 ? exitCodes.badInput : exitCodes.serverError,
      );
    const batch = parseReply(SubmittedSchema, submitted);
    const progress = progressPrinter(io);
    for (;;) {
      const remainingSeconds = (deadlineMs - Date.now()) / 1000;
      if (remainingSeconds <= 0) break;
      const waited = await call(
        `${args.url}${batch.links.wait}?timeout=${Math.min(remainingSeconds, progressSeconds).toFixed(1)}`,
        { headers },
        deadlineMs,
      );
      if (waited.status !== 200 && waited.status !== 202) throw httpFailure(waited, exitCodes.serverError);
      const view = parseReply(BatchViewSchema, waited);
      progress(view);
      if (view.status === 'completed') break;
    }
    // Past the deadline the results are still read once: finished images are reported as such.
    const lines = await call(
      `${args.url}${batch.links.results}`,
      { headers },
      Math.max(deadlineMs, Date.now()),
      'text',
    );
    if (lines.status !== 200 || typeof lines.body !== 'string') throw httpFailure(lines, exitCodes.serverError);
    for (const text of lines.body.split('\n').filter(Boolean)) {
      const line = BatchEntryViewSchema.parse(JSON.parse(text));
      const i = sent[line.index];
      if (i === undefined) continue;
      const result: FileResult = { file: files[i]!, id: line.id, status: line.status, exitCode: exitCodes.ok };
      if (line.status === 'completed') result.predictions = line.result?.predictions ?? [];
      else {
        const failure =
          line.status === 'failed'
            ? jobFailure(line.error)
            : new Failure(
                exitCodes.timeout,
                'timeout',
                `job ${line.id} still ${line.status} after ${args.waitSeconds} s; ` +
                  `batch ${batch.id} goes on at ${args.url}${batch.links.self}`,
              );
        result.error = { code: failure.code, message: failure.message };
        result.exitCode = failure.exitCode;
      }
      results[i] = result;
    }
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    for (const i of sent)
      results[i] = { ...results[i]!, error: { code: err.code, message: err.message }, exitCode: err.exitCode };
  }
  return results;
}
