/**
 * What Redis itself did over a bench step, from its own counters: `INFO commandstats` counts every
 * command it ran, those called inside Lua scripts and MULTI blocks included; `INFO cpu` its CPU
 * time; `INFO stats` the bytes it read and wrote. A snapshot before and after, divided by the jobs
 * the step completed, gives the per-job figures. Round trips are what clients sent, which the
 * counters cannot tell from commands run inside scripts: `monitorRoundTrips` reads them from
 * `MONITOR`, where a script's commands are marked `[... lua]`.
 */
import { Redis } from 'ioredis';

export interface RedisSnapshot {
  /** Calls by command name (lower case), INFO excluded: the bench's own. */
  calls: Record<string, number>;
  cpuSeconds: number;
  bytesIn: number;
  bytesOut: number;
}

const field = (info: string, name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);

export async function redisSnapshot(redis: Redis): Promise<RedisSnapshot> {
  const [commandstats, cpu, stats] = await Promise.all([
    redis.info('commandstats'),
    redis.info('cpu'),
    redis.info('stats'),
  ]);
  const calls: Record<string, number> = {};
  for (const [, name, count] of commandstats.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) {
    if (name !== 'info') calls[name!] = Number(count);
  }
  return {
    calls,
    cpuSeconds: field(cpu, 'used_cpu_sys') + field(cpu, 'used_cpu_user'),
    bytesIn: field(stats, 'total_net_input_bytes'),
    bytesOut: field(stats, 'total_net_output_bytes'),
  };
}

/** Commands that run other commands: their calls are round trips, what they run is counted separately. */
const scriptCommands = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

export interface RedisPerJob {
  /** Every command Redis ran per job, those inside scripts and MULTI blocks included. */
  commands: number;
  /** Script calls (EVAL/EVALSHA/FCALL) per job. */
  scripts: number;
  cpuMs: number;
  bytesIn: number;
  bytesOut: number;
  /** Calls per job by command, the largest first (those above 0.05). */
  byCommand: Record<string, number>;
}

export function redisPerJob(before: RedisSnapshot, after: RedisSnapshot, jobs: number): RedisPerJob {
  const per = (v: number, digits = 1) => Number((v / jobs).toFixed(digits));
  const delta = Object.entries(after.calls)
    .map(([name, n]) => [name, n - (before.calls[name] ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  const total = delta.reduce((s, [, n]) => s + n, 0);
  const scripts = delta.filter(([name]) => scriptCommands.has(name)).reduce((s, [, n]) => s + n, 0);
  return {
    commands: per(total),
    scripts: per(scripts),
    cpuMs: per((after.cpuSeconds - before.cpuSeconds) * 1000, 3),
    bytesIn: Math.round((after.bytesIn - before.bytesIn) / jobs),
    bytesOut: Math.round((after.bytesOut - before.bytesOut) / jobs),
    byCommand: Object.fromEntries(delta.map(([name, n]) => [name, per(n, 2)] as const).filter(([, n]) => n >= 0.05)),
  };
}

export interface MonitoredTraffic {
  jobs: number;
  /** Commands clients sent per job (a MULTI ... EXEC block counts once): network round trips at most. */
  roundTrips: number;
  /** Commands run per job, those inside scripts included (MULTI and EXEC themselves not counted). */
  commands: number;
  /** The commands clients sent, in order, for the first job only (the script SHA shortened). */
  firstJob: string[];
}

/**
 * Watches Redis with MONITOR while `work` runs `jobs` jobs one after another and counts what
 * clients sent. Background traffic (worker announcements, stalled-job checks, the blocking reads
 * of idle connections) falls into the same window, so run few jobs, back to back.
 */
export async function monitorRoundTrips(
  redisUrl: string,
  jobs: number,
  work: (markJob: () => void) => Promise<void>,
): Promise<MonitoredTraffic> {
  // monitor() opens a connection of its own; the one it is called on is closed with it.
  const connection = new Redis(redisUrl);
  const monitor = await connection.monitor();
  // Connected before the work starts, so its handshake is not counted; the work starts once MONITOR
  // has shown this connection's first command (MONITOR streams commands as they run, a little later).
  const marker = new Redis(redisUrl);
  let started: () => void = () => undefined;
  const start = new Promise<void>((resolve) => (started = resolve));
  let roundTrips = 0;
  let commands = 0;
  const inMulti = new Set<string>();
  let jobIndex = -1;
  const firstJob: string[] = [];
  let ending = false;
  let ended: () => void = () => undefined;
  const end = new Promise<void>((resolve) => (ended = resolve));
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = (args[0] ?? '').toLowerCase();
    const lua = source.includes('lua');
    if (name === 'echo' && args[1] === 'bench-monitor-start') return started();
    if (ending && name === 'echo' && args[1] === 'bench-monitor-end') return ended();
    if (!lua && name === 'multi') inMulti.add(source);
    if (!lua && name === 'exec') inMulti.delete(source);
    if (name !== 'multi' && name !== 'exec') commands += 1;
    if (!lua && name !== 'exec' && !(inMulti.has(source) && name !== 'multi')) {
      roundTrips += 1;
      if (jobIndex === 0) firstJob.push([name, ...args.slice(1, 2)].join(' ').slice(0, 60));
    }
  });
  // MONITOR streams commands as they run: an ECHO through another connection marks where the work ended.
  try {
    await marker.echo('bench-monitor-start');
    await start;
    await work(() => (jobIndex += 1));
    ending = true;
    await marker.echo('bench-monitor-end');
    await end;
  } finally {
    marker.disconnect();
    monitor.disconnect();
    connection.disconnect();
  }
  return {
    jobs,
    roundTrips: Number((roundTrips / jobs).toFixed(1)),
    commands: Number((commands / jobs).toFixed(1)),
    firstJob,
  };
}
