import { describe, expect, it } from 'vitest';
import { browserUrl, readyLine, redactRedisUrl } from '../../src/ready-line.js';

describe('the ready line of npm start', () => {
  it('says where to click, what runs and on which Redis, in one line', () => {
    const line = readyLine({
      baseUrl: browserUrl('0.0.0.0', 5000),
      dashboard: true,
      model: { name: 'resnet50-v1.5', precision: 'fp32' },
      workers: 1,
      redis: { mode: 'embedded' },
    });
    expect(line).toBe(
      'ready: http://localhost:5000/ · docs http://localhost:5000/docs · ' +
        'dashboard http://localhost:5000/admin/queues · model resnet50-v1.5 (fp32) · 1 worker · ' +
        'Redis embedded (private, not durable)',
    );
    expect(line).not.toContain('\n');
  });

  it('says how to turn the dashboard on, and never shows a Redis password', () => {
    const line = readyLine({
      baseUrl: browserUrl('127.0.0.1', 8080),
      dashboard: false,
      model: { name: 'mine' },
      workers: 2,
      redis: { mode: 'url', url: 'rediss://app:s3cret@redis.internal:6380/0' },
    });
    expect(line).toContain('dashboard off (set DASHBOARD_USER + DASHBOARD_PASSWORD)');
    expect(line).toContain('model mine · 2 workers');
    expect(line).toContain('Redis rediss://app:***@redis.internal:6380/0');
    expect(line).not.toContain('s3cret');
    expect(redactRedisUrl('redis://localhost:6379')).toBe('redis://localhost:6379');
    expect(browserUrl('::', 5000)).toBe('http://localhost:5000');
  });
});
