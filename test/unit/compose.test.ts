import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectRoot } from '../../src/config.js';

/**
 * No Docker engine runs here, so compose.yaml cannot be started: these checks read it instead and
 * pin the settings the deployment depends on (Redis durability, health-gated start-up, workers).
 */

interface Service {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string> | string[];
  env_file?: (string | { path: string })[] | string;
  ports?: (string | number | { target: number })[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  deploy?: { replicas?: number };
}

const compose = parse(await readFile(path.join(projectRoot, 'compose.yaml'), 'utf8')) as {
  services: Record<string, Service>;
};
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`compose.yaml has no service "${name}"`);
  return found;
};

/** Compose accepts `environment` as a map or as a list of NAME=value. */
function environment(s: Service): Record<string, string> {
  if (!Array.isArray(s.environment)) return s.environment ?? {};
  return Object.fromEntries(s.environment.map((line) => [line.split('=')[0]!, line.slice(line.indexOf('=') + 1)]));
}

/** The value after a `--flag` in a redis-server command line. */
function flag(command: Service['command'], name: string): string | undefined {
  const args = typeof command === 'string' ? command.split(/\s+/) : (command ?? []);
  const at = args.indexOf(name);
  return at < 0 ? undefined : args[at + 1];
}

const hasHealthcheck = (s: Service) => Boolean(s.healthcheck?.test) && s.healthcheck?.disable !== true;

describe('compose.yaml', () => {
  it('defines redis, api and worker', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['redis', 'api', 'worker']));
  });

  it('runs Redis durable (AOF) and never evicting BullMQ keys, with a healthcheck', () => {
    const redis = service('redis');
    expect(flag(redis.command, '--appendonly')).toBe('yes');
    expect(flag(redis.command, '--maxmemory-policy')).toBe('noeviction');
    expect(hasHealthcheck(redis)).toBe(true);
  });

  it('binds every interface in the image (the code defaults to loopback), which the api and worker use', async () => {
    const dockerfile = await readFile(path.join(projectRoot, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^ENV .*\bHOST=0\.0\.0\.0\b/m);
    for (const name of ['api', 'worker']) {
      expect(service(name).image).toBe('resnet-queue:local');
      expect(environment(service(name))['HOST']).toBeUndefined();
    }
  });

  it('publishes no Redis port', () => {
    expect(service('redis').ports ?? []).toEqual([]);
  });

  it('gives the api a healthcheck, REDIS_URL, port 5000 and a start gated on a healthy Redis', () => {
    const api = service('api');
    expect(hasHealthcheck(api)).toBe(true);
    expect(environment(api)['REDIS_URL']).toMatch(/^redis:\/\/redis:6379/);
    const containerPorts = (api.ports ?? []).map((p) =>
      typeof p === 'object' ? p.target : Number(String(p).split(':').at(-1)),
    );
    expect(containerPorts).toContain(5000);
    expect(api.depends_on).toMatchObject({ redis: { condition: 'service_healthy' } });
  });

  it('runs 2 worker replicas with REDIS_URL and MODEL_DIR, also gated on a healthy Redis', () => {
    const worker = service('worker');
    expect(worker.deploy?.replicas).toBe(2);
    const env = environment(worker);
    expect(env['REDIS_URL']).toMatch(/^redis:\/\/redis:6379/);
    expect(env['MODEL_DIR']).toBeTruthy();
    expect(worker.depends_on).toMatchObject({ redis: { condition: 'service_healthy' } });
  });

  it('mounts a model that exists on a fresh clone (../shared) where MODEL_DIR points, keeping its name', async () => {
    for (const name of ['api', 'worker']) {
      const s = service(name);
      const volume = (s as { volumes?: string[] }).volumes?.find((v) => v.includes('MODEL_PATH'));
      expect(volume, name).toBeDefined();
      // ${MODEL_PATH:-default}:target:ro, with the defaults compose applies when nothing is set.
      const resolved = volume!.replace(/\$\{(\w+):-([^}]*)\}/g, (_m, _v, fallback: string) => fallback);
      const [source, target, mode] = resolved.split(':');
      await access(path.join(projectRoot, source!, 'model.onnx'));
      expect(target).toBe(
        environment(s)['MODEL_DIR']!.replace(/\$\{(\w+):-([^}]*)\}/g, (_m, _v, fallback: string) => fallback),
      );
      expect(path.basename(target!)).toBe('resnet50-v1.5');
      expect(mode).toBe('ro');
    }
  });

  it('reads credentials from an env_file that git and docker both ignore', async () => {
    const files = [service('api').env_file ?? []].flat().map((f) => (typeof f === 'string' ? f : f.path));
    expect(files).toContain('.env');
    for (const ignoreFile of ['.gitignore', '.dockerignore']) {
      const lines = (await readFile(path.join(projectRoot, ignoreFile), 'utf8')).split('\n').map((l) => l.trim());
      for (const file of files)
        expect(lines.includes(file) || lines.includes(`/${file}`), `${ignoreFile} must list ${file}`).toBe(true);
    }
  });
});
