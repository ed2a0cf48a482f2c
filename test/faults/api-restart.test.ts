import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { get } from '../support/http.js';
import { stopChild } from '../support/service.js';
import {
  completionCounter,
  report,
  startCluster,
  submitMany,
  tally,
  waitAllTerminal,
  type Cluster,
} from './harness.js';

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
    const polls = jobs.map((job) =>
      get(cluster.url, `/jobs/${job.id}/wait?timeout=60`).then(
        (res) => ({ status: res.status, body: res.body }),
        (err: unknown) => ({ status: 0, body: String(err) }),
      ),
    );
    await new Promise((r) => setTimeout(r, 500));
    const sentAt = Date.now();
    expect(await stopChild(cluster.api.child)).toBe(0);
    const apiExitSeconds = (Date.now() - sentAt) / 1000;
    const answers = await Promise.all(polls);
    // Released with the current view (202: "not finished, ask again"), or a dropped connection.
    for (const a of answers) expect([202, 0]).toContain(a.status);
    expect(answers.filter((a) => a.status === 202).length).toBeGreaterThan(0);
    expect(apiExitSeconds).toBeLessThan(2);

    await cluster.startApi();
    const restartedAt = Date.now();
    cluster.startWorker();
    const views = await waitAllTerminal(cluster.url, jobs);
    const counts = tally(jobs, views, counter.counts);
    await counter.close();
    await report({
      fault: 'API SIGTERM with 40 clients long-polling, then restarted',
      happened: `API exited 0 in ${apiExitSeconds.toFixed(1)} s; ${answers.filter((a) => a.status === 202).length} polls answered 202 (retry), ${answers.filter((a) => a.status === 0).length} saw a closed connection; all jobs fetched after the restart`,
      submitted: jobs.length,
      ...counts,
      recoverySeconds: (Math.max(...[...views.values()].map((v) => Date.parse(v.finishedAt!))) - restartedAt) / 1000,
    });
    expect(counts).toMatchObject({ completed: 40, failed: 0, wrong: 0, duplicated: 0, lost: 0 });
  });
});
