import http from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stopChild } from '../support/service.js';
import { until } from '../support/wait.js';
import {
  completionCounter,
  report,
  startCluster,
  submitMany,
  tally,
  unreadConnections,
  waitAllTerminal,
  type Cluster,
} from './harness.js';

interface PollAnswer {
  /** 0: the connection closed without an answer. */
  status: number;
  body: string;
}

/**
 * A long-poll on its own connection. `sent` resolves once the whole request is in the kernel, so
 * on loopback it is already in the server's receive queue.
 */
function longPoll(url: string): { sent: Promise<void>; answer: Promise<PollAnswer> } {
  let sent!: () => void;
  const sentPromise = new Promise<void>((resolve) => (sent = resolve));
  const answer = new Promise<PollAnswer>((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', (err) => resolve({ status: 0, body: String(err) }));
    });
    req.on('finish', sent);
    req.on('error', (err) => resolve({ status: 0, body: String(err) }));
  });
  return { sent: sentPromise, answer };
}

describe('the API restarted while clients are long-polling', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(inject('redisUrl'));
  });
  afterAll(() => cluster.stop());

  it('waiting clients get an answer they can retry; the jobs complete and can be fetched afterwards', async () => {
    const counter = await completionCounter(cluster.redisUrl, cluster.queueName);
    const jobs = await submitMany(cluster.url, 40);
    // No worker yet: every long-poll is still waiting when the API goes down.
    const polls = jobs.map((job) => longPoll(`${cluster.url}/jobs/${job.id}/wait?timeout=60`));
    await Promise.all(polls.map((p) => p.sent));
    const { port } = new URL(cluster.url);
    await until('the API to read every long-poll', async () => (await unreadConnections(Number(port))) === 0);
    const sentAt = Date.now();
    expect(await stopChild(cluster.api.child)).toBe(0);
    const apiExitSeconds = (Date.now() - sentAt) / 1000;
    const answers = await Promise.all(polls.map((p) => p.answer));
    // The API had read every poll before the SIGTERM, so each is released with its current view
    // (202: "not finished, ask again") rather than dropped.
    expect(answers.map((a) => a.status)).toEqual(jobs.map(() => 202));

    await cluster.startApi();
    const restartedAt = Date.now();
    cluster.startWorker();
    const views = await waitAllTerminal(cluster.url, jobs);
    const counts = tally(jobs, views, counter.counts);
    await counter.close();
    await report({
      fault: 'API SIGTERM with 40 clients long-polling, then restarted',
      happened:
        `API exited 0 in ${apiExitSeconds.toFixed(1)} s; ${answers.length} polls answered 202 (retry); ` +
        'all jobs fetched after the restart',
      submitted: jobs.length,
      ...counts,
      recoverySeconds: (Math.max(...[...views.values()].map((v) => Date.parse(v.finishedAt!))) - restartedAt) / 1000,
    });
    expect(counts).toMatchObject({ completed: 40, failed: 0, wrong: 0, duplicated: 0, lost: 0 });
  });
});
