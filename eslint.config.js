import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** One no-restricted-imports rule for the files of one layer. */
function layer(files, why, patterns) {
  return [
    {
      files: [files],
      rules: { 'no-restricted-imports': ['error', { patterns: [{ group: patterns, message: `${why}.` }] }] },
    },
  ];
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test-output/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      'no-console': 'error',
    },
  },
  // Layers point one way: model <- queue <- jobs <- api, model <- queue <- worker, and main above
  // them all. A folder never imports a sibling's internals or a layer above it: the HTTP layer uses
  // the job service only through src/jobs/index.ts, and the job service and the CLI know the API
  // only by its wire schemas.
  ...layer('src/model/**', 'the model layer knows images and tensors, not HTTP, jobs or Redis', [
    '../api/*',
    '../jobs/*',
    '../queue/*',
    '../worker/*',
    '../cli/*',
    '../errors.js',
    '../redis.js',
    'bullmq',
    'ioredis',
    'koa',
    '@koa/*',
  ]),
  ...layer('src/queue/**', 'the job contract knows no HTTP, no job service and no worker', [
    '../api/*',
    '../jobs/*',
    '../worker/*',
    '../cli/*',
    'koa',
    '@koa/*',
  ]),
  ...layer('src/jobs/**', 'the job service knows no HTTP (only the wire schemas), no worker and no CLI', [
    '../api/*',
    '!../api/wire.js',
    '../worker/*',
    '../cli/*',
    'koa',
    '@koa/*',
  ]),
  ...layer('src/api/**', 'the API uses the job service through src/jobs/index.ts, never the worker or the CLI', [
    '../jobs/*',
    '!../jobs/index.js',
    '../../jobs/*',
    '!../../jobs/index.js',
    '../worker/*',
    '../../worker/*',
    '../cli/*',
    '../../cli/*',
  ]),
  ...layer('src/worker/**', 'the worker does not reach into the API, the job service or the CLI', [
    '../api/*',
    '../jobs/*',
    '../cli/*',
    'koa',
    '@koa/*',
  ]),
  ...layer('src/webhook/**', 'webhook delivery knows HTTP clients, signatures and its queue, not the API or jobs', [
    '../api/*',
    '../jobs/*',
    '../worker/*',
    '../cli/*',
    '../model/*',
    'koa',
    '@koa/*',
  ]),
  ...layer('src/cli/**', 'the CLI is a client: it may import only the wire schemas of the API', [
    '../api/*',
    '!../api/wire.js',
    '../jobs/*',
    '../queue/*',
    '../worker/*',
    '../model/*',
  ]),
  // Replaces the src/api rule for these files (the later rule wins), so it repeats what that one forbids.
  ...layer('src/api/openapi/**', 'the OpenAPI document is generated from the wire modules, never from routes', [
    '../routes/*',
    '../replicate/*',
    '!../replicate/wire.js',
    '../open-inference/*',
    '!../open-inference/wire.js',
    '../../jobs/*',
    '../../worker/*',
    '../../cli/*',
  ]),
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  // Plain JavaScript that is not compiled: the CLI shim runs in Node, the web page's script in browsers.
  { files: ['bin/**/*.js'], languageOptions: { globals: globals.node } },
  // The conformance suite's Node client: a real client program, run as it is.
  { files: ['test/conformance/clients/*.js'], languageOptions: { globals: globals.node } },
  { files: ['public/**/*.js'], languageOptions: { globals: globals.browser, sourceType: 'script' } },
  // Prettier wraps code at 120 but leaves strings, comments and regexes whole: this holds them to it too.
  {
    plugins: { '@stylistic': stylistic },
    rules: { '@stylistic/max-len': ['error', { code: 120 }] },
  },
);
