import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config.js';
import { supportedFormatList, supportedFormats } from '../../src/model/image-format.js';

/** SECURITY.md promises what the code does (issue 21, F16: it said TIFF was refused while it was accepted). */
describe('SECURITY.md', () => {
  it('lists exactly the accepted image formats as accepted, and none of them as refused', async () => {
    const doc = await readFile(path.join(projectRoot, 'SECURITY.md'), 'utf8');
    const row = doc.split('\n').find((line) => line.startsWith('| Parser attack surface |'))!;
    const accepted = /allow-listed[^(]*\(([^)]*)\)/.exec(row)![1]!;
    const refused = /, ([^,;()]*) refused `415`/.exec(row)![1]!;
    const names = supportedFormatList.replace(' or ', ', ').split(', ');
    expect(names).toHaveLength(supportedFormats.length);
    for (const name of names) {
      expect(accepted, name).toContain(name);
      expect(refused, name).not.toMatch(new RegExp(`\\b${name}\\b`));
    }
  });
});
