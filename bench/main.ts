// `npm run bench`: `--queue-only` runs the queue-capacity benchmark (bench/queue-capacity.ts),
// anything else the full one (bench/run.ts). Each module parses its own arguments.
if (process.argv.includes('--queue-only')) await import('./queue-capacity.js');
else await import('./run.js');
