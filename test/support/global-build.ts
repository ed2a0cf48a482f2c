import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { projectRoot } from '../../src/config.js';

/**
 * The process tier runs the service as it ships, compiled to dist/ (what `npm start` runs): a child
 * under tsx spends about a second of CPU more to start than the compiled one, and the suite starts
 * dozens. `tsc -b` only rebuilds what changed, so a current dist/ costs about a second.
 */
export function setup(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: projectRoot, stdio: 'inherit' });
}
