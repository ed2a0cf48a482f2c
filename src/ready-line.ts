/** What `npm start` reports once the API listens and its worker has loaded the model. */
export interface ReadyFacts {
  /** Where the API listens, as a browser should open it. */
  baseUrl: string;
  /** Whether the dashboard is mounted (it needs credentials). */
  dashboard: boolean;
  model: {
    name: string;
    /** e.g. `fp32` or `int8`; shown when the model says it (slot for the manifest's precision). */
    precision?: string | undefined;
  };
  workers: number;
  /** API processes sharing the port (shown when more than one). */
  apiProcesses?: number;
  /** `embedded`: the private redis-server of `npm start`; else the REDIS_URL in use. */
  redis: { mode: 'embedded' } | { mode: 'url'; url: string };
}

/** A Redis URL without its password, so the line can be pasted anywhere. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'redis (unparseable URL)';
  }
}

/** The browser-facing URL of a bind address: a wildcard bind is reached through localhost. */
export function browserUrl(host: string, port: number): string {
  const name =
    host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}

/** One line a person reads: where to click, what runs, and on which Redis. */
export function readyLine(facts: ReadyFacts): string {
  const model = facts.model.precision ? `${facts.model.name} (${facts.model.precision})` : facts.model.name;
  const dashboard = facts.dashboard ? `${facts.baseUrl}/admin/queues` : 'off (set DASHBOARD_USER + DASHBOARD_PASSWORD)';
  const redis = facts.redis.mode === 'embedded' ? 'embedded (private, not durable)' : redactRedisUrl(facts.redis.url);
  const apis = (facts.apiProcesses ?? 1) > 1 ? ` · ${facts.apiProcesses} API processes` : '';
  const workers = `${facts.workers} worker${facts.workers === 1 ? '' : 's'}${apis}`;
  return (
    `ready: ${facts.baseUrl}/ · docs ${facts.baseUrl}/docs · dashboard ${dashboard} · ` +
    `model ${model} · ${workers} · Redis ${redis}`
  );
}
