import { existsSync } from 'node:fs';

/**
 * Preloaded by the npm scripts (`node --import ./dist/load-env-file.js dist/main.js`, and `npm run
 * dev`): reads `.env` from the working directory into the environment, when there is one, before
 * config.ts parses it. Variables already set win over the file. No module imports this one, so
 * entry points started directly (the tests, the Docker image) see only their real environment.
 * (Node's own `--env-file-if-exists` would do the same but prints a notice when the file is absent.)
 */
if (existsSync('.env')) process.loadEnvFile('.env');
