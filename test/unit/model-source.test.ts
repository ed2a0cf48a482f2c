import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { zooResNet50ByPrecision } from '../../src/model/model-source.js';
import { sharedDir } from '../support/paths.js';

describe('model:fetch sources', () => {
  it.each(Object.entries(zooResNet50ByPrecision))(
    'pins the zoo %s ResNet-50 as ../shared/models/README.md lists it',
    async (_precision, source) => {
      const readme = await readFile(path.join(sharedDir, 'models/README.md'), 'utf8');
      const row = readme.split('\n').find((line) => line.includes(source.url));
      expect(row, source.url).toBeDefined();
      expect(row).toContain(source.sha256);
      expect(row!.replaceAll(',', '')).toContain(String(source.bytes));
    },
  );
});
