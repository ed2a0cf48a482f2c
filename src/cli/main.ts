import { cliEnv } from '../config.js';
import { runClassify } from './classify.js';

process.exitCode = await runClassify(
  process.argv.slice(2),
  {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    // Only a person watching a terminal wants a line rewritten in place; logs and pipes get none.
    progress: process.stderr.isTTY ? (text) => process.stderr.write(text) : undefined,
    tty: process.stderr.isTTY,
  },
  cliEnv(),
);
