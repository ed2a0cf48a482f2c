import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { outputDir } from '../support/paths.js';
import { runBench } from '../support/run-bench.js';

describe('npm run bench', () => {
  it('runs to completion on a tiny request count for both models and writes every measurement', async () => {
    const out = path.join(outputDir, 'bench-quick.json');
    const { code, output } = await runBench(['--quick', '--out', out]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/Target \(int8\)\s+measured/);
    expect(output).toMatch(/= overhead\s+-?[\d.]+/);
    expect(output).toMatch(/Prefer: wait p50 [\d.]+ ms/);
    expect(output).toMatch(/Top-1 agreement int8 vs fp32 .*: passed/);
    const results = JSON.parse(await readFile(out, 'utf8')) as {
      models: Record<
        string,
        Record<string, unknown> & {
          engine: { bySpinning: Record<string, { rows: { imagesPerSecond: number }[] }> };
          saturated: { imagesPerSecond: number; errors: number }[];
          phoneMix: { imagesPerSecond: number; phoneRequestsSent: number; errors: number };
          footprint: { kibPerJob: number };
          stages: Record<string, number>;
          targets: Record<string, { value: number }>;
        }
      >;
      int8OverFp32: Record<string, number>;
      agreement: { passed: boolean; views: number };
    };
    expect(Object.keys(results.models)).toEqual(['fp32', 'int8']);
    for (const model of Object.values(results.models)) {
      expect(Object.values(model.engine.bySpinning).every((s) => s.rows.every((r) => r.imagesPerSecond > 0))).toBe(
        true,
      );
      expect(model.saturated.every((s) => s.imagesPerSecond > 0 && s.errors === 0)).toBe(true);
      expect(model.phoneMix).toMatchObject({ errors: 0 });
      expect(model.phoneMix.phoneRequestsSent).toBeGreaterThan(0);
      expect(model.footprint.kibPerJob).toBeGreaterThan(10);
      expect(model.stages).toHaveProperty(['inference (incl. thread hand-off)']);
      expect(Object.keys(model.targets)).toEqual(
        expect.arrayContaining([
          'overheadMs',
          'ofLimit',
          'c1P50Ms',
          'redisCpuMsPerJob',
          'redisCommandsPerJob',
          'throughputRatio',
          'lightLoadOverheadMs',
          'phoneMixRatio',
          'apiCpuMsPerPhoneJpeg',
          'meanBatchAtTopLoad',
          'p99OverFullBatch',
          'redisKibPerJob',
          'apiLoopDelayP99Ms',
        ]),
      );
      for (const key of ['drain', 'light', 'apiEventLoopDelayMs', 'cpuMsPerImageAtTopLoad', 'apiCpuMsPerUpload'])
        expect(model).toHaveProperty(key);
      // The CPU budget of an image (issue 20): every process's share, what cannot be avoided, the rest.
      const budget = model['budget'] as Record<string, number>;
      for (const key of ['serviceCpuMs', 'engineCoreMsAtWorkerBatches', 'decodeCpuMs', 'overheadMs', 'ofLimit'])
        expect(budget[key], key).toEqual(expect.any(Number));
      expect(budget['engineCoreMsAtWorkerBatches']).toBeGreaterThan(0);
      expect(budget['decodeCpuMs']).toBeGreaterThan(0);
      type Cost = { msPerImage: Record<string, number>; redis: { commands: number; scripts: number; cpuMs: number } };
      const cost = (model['costs'] as Record<string, Cost>)['2']!;
      expect(Object.keys(cost.msPerImage)).toEqual(['api', 'worker1', 'redis', 'load generator']);
      expect(cost.redis.commands).toBeGreaterThan(5);
      expect(cost.redis.scripts).toBeGreaterThan(0);
      expect(cost.redis.cpuMs).toBeGreaterThan(0);
      const monitored = model['monitored'] as { roundTrips: number; commands: number; firstJob: string[] };
      expect(monitored.roundTrips).toBeGreaterThan(3);
      expect(monitored.commands).toBeGreaterThan(monitored.roundTrips);
      expect(monitored.firstJob.length).toBeGreaterThan(3);
      expect(model['lightPreferWait']).toMatchObject({ errors: 0 });
      expect((model['lightPreferWait'] as { requests: number }).requests).toBeGreaterThan(0);
    }
    expect(results.int8OverFp32.engineBest).toBeGreaterThan(0);
    expect(results.agreement).toMatchObject({ passed: true, views: 10 });
  }, 300_000); // two models, each through engine, service and load steps: minutes on 2 busy cores
});
