import { runClassify } from './classify.js';

process.exitCode = await runClassify(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  tty: process.stderr.isTTY,
});
