import { describe, expect, it } from 'vitest';
import { challenges, hasCredentials, isAuthorized, type Credentials } from '../../src/credentials.js';

const basicHeader = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const both: Credentials = { basic: { user: 'ops', password: 'pa:ss word é' }, bearer: 'tok-0123456789abcdef' };

describe('isAuthorized', () => {
  it('accepts the Basic pair (a colon and non-ASCII in the password too) and the bearer token, any scheme case', () => {
    expect(isAuthorized(basicHeader('ops', 'pa:ss word é'), both)).toBe(true);
    expect(isAuthorized('Bearer tok-0123456789abcdef', both)).toBe(true);
    expect(isAuthorized('bearer tok-0123456789abcdef', both)).toBe(true);
    expect(isAuthorized(`basic ${Buffer.from('ops:pa:ss word é').toString('base64')}`, both)).toBe(true);
  });

  it('refuses everything else', () => {
    for (const header of [
      undefined,
      '',
      'Basic',
      basicHeader('ops', 'pa:ss word'),
      basicHeader('Ops', 'pa:ss word é'),
      basicHeader('ops', 'pa:ss word é '),
      'Bearer tok-0123456789abcde',
      'Bearer tok-0123456789abcdef extra',
      // The right secret under the wrong scheme.
      `Basic ${Buffer.from('tok-0123456789abcdef').toString('base64')}`,
      `Bearer ${Buffer.from('ops:pa:ss word é').toString('base64')}`,
      'Digest tok-0123456789abcdef',
    ]) {
      expect(isAuthorized(header, both), String(header)).toBe(false);
    }
  });

  it('accepts only the schemes that are configured', () => {
    expect(isAuthorized('Bearer tok-0123456789abcdef', { basic: both.basic })).toBe(false);
    expect(isAuthorized(basicHeader('ops', 'pa:ss word é'), { bearer: both.bearer })).toBe(false);
    expect(isAuthorized('Bearer anything', {})).toBe(false);
    expect(hasCredentials({})).toBe(false);
    expect(hasCredentials({ bearer: 'x' })).toBe(true);
  });
});

describe('challenges', () => {
  it('lists one challenge per configured scheme', () => {
    expect(challenges(both, 'dashboard')).toBe('Basic realm="dashboard", charset="UTF-8", Bearer realm="dashboard"');
    expect(challenges({ bearer: 'x' }, 'metrics')).toBe('Bearer realm="metrics"');
  });
});
