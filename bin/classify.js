#!/usr/bin/env node
// `classify`, the command-line client (package.json "bin"). The CLI is TypeScript compiled by
// `npm run build`; this shim only loads the compiled entry, or says how to build it.
const entry = new URL('../dist/cli/main.js', import.meta.url);
try {
  await import(entry.href);
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write(`classify: ${entry.pathname} is missing; run \`npm run build\` first\n`);
  process.exitCode = 1;
}
