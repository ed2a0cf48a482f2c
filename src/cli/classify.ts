import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isTerminal, JobViewSchema } from '../api/wire.js';
import { classifyBatch } from './classify-batch.js';
import { parseClassifyArgs, usage, UsageError, type ClassifyArgs, type ClassifyEnv } from './classify-args.js';
import { expandFiles } from './expand-files.js';
import { predictionTable } from './prediction-table.js';
import {
  call,
  exitCodes,
  Failure,
  httpFailure,
  jobFailure,
  parseReply,
  type ExitCode,
  type FileResult,
} from './service-call.js';

export { exitCodes, type FileResult };

/** When images fail in different ways, the most systemic failure is the one reported. */
const precedence: readonly ExitCode[] = [exitCodes.serverError, exitCodes.timeout, exitCodes.badInput];

/** Images in flight at once: enough for the server to batch them, few enough not to flood it. */
const concurrency = 4;
/** Longest single long-poll, seconds; the server may cap it lower and then answers 202 sooner. */
const maxPollSeconds = 30;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Where the progress line goes (a terminal's stderr, rewritten in place); absent: no progress. */
  progress?: (text: string) => void;
  /** Stderr is a terminal: progress is drawn in place rather than logged line by line. */
  tty?: boolean;
}

/** Submits one image and follows its job to the end or the deadline; every failure becomes part of the result. */
async function classifyFile(file: string, args: ClassifyArgs, deadlineMs: number): Promise<FileResult> {
  const result: FileResult = { file, status: 'not_submitted', exitCode: exitCodes.ok };
  try {
    const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new Failure(
        exitCodes.badInput,
        'unreadable_file',
        `cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`,
      );
    });
    const form = new FormData();
    if (args.model !== undefined) form.append('model', args.model);
    form.append('image', new Blob([new Uint8Array(bytes)]), path.basename(file));
    const headers: Record<string, string> = args.apiKey === undefined ? {} : { Authorization: `Bearer ${args.apiKey}` };
    const submitted = await call(`${args.url}/jobs`, { method: 'POST', body: form, headers }, deadlineMs);
    if (submitted.status !== 202 && submitted.status !== 200) {
      throw httpFailure(
        submitted,
        submitted.status >= 400 && submitted.status < 500 ? exitCodes.badInput : exitCodes.serverError,
      );
    }
    let view = parseReply(JobViewSchema, submitted);
    result.id = view.id;
    result.status = view.status;
    while (!isTerminal(view.status)) {
      const remainingSeconds = (deadlineMs - Date.now()) / 1000;
      if (remainingSeconds <= 0) {
        throw new Failure(
          exitCodes.timeout,
          'timeout',
          `job ${view.id} still ${view.status} after ${args.waitSeconds} s; ` +
            `it goes on at ${args.url}${view.links.self}`,
        );
      }
      const waited = await call(
        `${args.url}${view.links.wait}?timeout=${Math.min(remainingSeconds, maxPollSeconds).toFixed(1)}`,
        { headers },
        deadlineMs,
      );
      // 202 is "not finished yet, ask again"; anything but 200/202 is the service's fault here.
      if (waited.status !== 200 && waited.status !== 202) throw httpFailure(waited, exitCodes.serverError);
      view = parseReply(JobViewSchema, waited);
      result.status = view.status;
    }
    if (view.status === 'failed') throw jobFailure(view.error);
    result.predictions = view.result?.predictions ?? [];
    return result;
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    return { ...result, error: { code: err.code, message: err.message }, exitCode: err.exitCode };
  }
}

/** Runs `work` over `items` with at most `limit` at a time; results keep the order of `items`. */
async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** `classify: 3/10 done, 1 failed`: rewritten in place (\r), cleared at the end. */
function progressLine(done: number, failed: number, total: number): string {
  return `\rclassify: ${done}/${total} done${failed > 0 ? `, ${failed} failed` : ''}`;
}

/** The whole command: parse, classify every image, print, and return the exit code. */
export async function runClassify(argv: readonly string[], io: Io, env: ClassifyEnv = {}): Promise<number> {
  let args: ClassifyArgs;
  try {
    args = parseClassifyArgs(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`classify: ${err.message}\n\n${usage}`);
    return exitCodes.badInput;
  }
  if (args.help) {
    io.out(usage);
    return exitCodes.ok;
  }
  const files = await expandFiles(args.files);
  const deadlineMs = Date.now() + args.waitSeconds * 1000;
  let done = 0;
  let failed = 0;
  const progress = files.length > 1 ? io.progress : undefined;
  const results = args.batch
    ? await classifyBatch(files, args, deadlineMs, io)
    : await (async () => {
        progress?.(progressLine(0, 0, files.length));
        const each = await mapLimit(files, concurrency, async (file) => {
          const result = await classifyFile(file, args, deadlineMs);
          done++;
          if (result.error) failed++;
          progress?.(progressLine(done, failed, files.length));
          return result;
        });
        // Erase the progress line, so the results start on a clean line.
        progress?.('\r\x1b[2K');
        return each;
      })();
  if (args.json) {
    io.out(
      `${JSON.stringify(
        results.map(({ exitCode: _, ...shown }) => shown),
        null,
        2,
      )}\n`,
    );
  } else {
    const tables = results.filter((r) => r.predictions).map((r) => predictionTable(r.file, r.predictions!));
    if (tables.length > 0) io.out(`${tables.join('\n\n')}\n`);
  }
  for (const r of results) if (r.error) io.err(`classify: ${r.file}: ${r.error.code}: ${r.error.message}\n`);
  return precedence.find((code) => results.some((r) => r.exitCode === code)) ?? exitCodes.ok;
}
