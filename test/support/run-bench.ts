import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { projectRoot } from '../../src/config.js';

/** How a bench run ended: its exit code (null if a signal ended it) and its stdout and stderr as they came. */
export interface BenchRun {
  code: number | null;
  output: string;
}

/** Runs `npm run bench -- ...args` the way the npm script does (bench/main.ts under tsx) and waits for it to end. */
export async function runBench(args: readonly string[]): Promise<BenchRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/main.ts'), ...args], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => (output += text));
  }
  // 'close', not 'exit': only then has the last of its output been read.
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
}
