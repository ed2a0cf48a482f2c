import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../../src/config.js';

describe('OpenTelemetry', () => {
  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT; only telemetry.ts imports OpenTelemetry, dynamically', async () => {
    const files = (await readdir(path.join(projectRoot, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts'));
    const importers: string[] = [];
    for (const file of files) {
      const source = await readFile(path.join(projectRoot, 'src', file), 'utf8');
      // A value import loads the package; `import type` is erased at compile time.
      if (/^import (?!type )[^;]*from '(@opentelemetry\/[^']+|bullmq-otel)'/m.test(source))
        importers.push(`${file} (static)`);
      if (/import\('(@opentelemetry\/[^']+|bullmq-otel)'\)/.test(source) && file !== 'telemetry.ts')
        importers.push(`${file} (dynamic)`);
    }
    expect(importers).toEqual([]);
    expect(loadConfig({}).telemetry.otlpEndpoint).toBeUndefined();
  });
});
