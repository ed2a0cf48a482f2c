import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { isPublicAddress, resolveWebhookTarget, type ResolveAll } from '../../src/webhook/address-guard.js';
import { signWebhook, webhookHeaders } from '../../src/webhook/webhook-signature.js';

const resolvesTo =
  (...addresses: string[]): ResolveAll =>
  () =>
    Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

describe('isPublicAddress', () => {
  it.each(['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '1.1.1.1'])('%s is public', (ip) =>
    expect(isPublicAddress(ip)).toBe(true),
  );
  it.each([
    '127.0.0.1',
    '127.255.0.1',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.100.100.200',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '198.18.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00:ec2::254',
    'fc00::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    '2002:a00:1::',
    'ff02::1',
    'not-an-ip',
  ])('%s is not', (ip) => expect(isPublicAddress(ip)).toBe(false));

  // Issue 21, F14: IPv4-compatible (::/96), IPv4-translated (::ffff:0:0:0/96) and Teredo (2001::/23).
  it.each(['[::127.0.0.1]', '[::a9fe:a9fe]', '[::ffff:0:127.0.0.1]', '[2001:0:4136:e378:8000:63bf:3fff:fdd2]'])(
    'https://%s/ is refused at submit',
    async (host) => {
      await expect(resolveWebhookTarget(`https://${host}/`, [], resolvesTo())).rejects.toThrow(/non-public address/);
    },
  );
});

describe('resolveWebhookTarget', () => {
  it('pins the first address of a public host', async () => {
    const target = await resolveWebhookTarget(
      'https://hooks.example/x',
      [],
      resolvesTo('93.184.215.14', '2606:4700:4700::1111'),
    );
    expect(target).toMatchObject({ address: '93.184.215.14', family: 4 });
    expect(target.url.hostname).toBe('hooks.example');
  });

  it('refuses a name with any non-public answer (rebinding-style mixed answers included)', async () => {
    await expect(resolveWebhookTarget('https://hooks.example/x', [], resolvesTo('127.0.0.1'))).rejects.toThrow(
      /non-public address \(127\.0\.0\.1\)/,
    );
    await expect(
      resolveWebhookTarget('https://hooks.example/x', [], resolvesTo('93.184.215.14', '10.0.0.7')),
    ).rejects.toThrow(/10\.0\.0\.7/);
  });

  it('refuses plain http and names that do not resolve', async () => {
    await expect(resolveWebhookTarget('http://hooks.example/x', [], resolvesTo('93.184.215.14'))).rejects.toThrow(
      /https/,
    );
    await expect(
      resolveWebhookTarget('https://hooks.example/x', [], () => Promise.reject(new Error('ENOTFOUND'))),
    ).rejects.toThrow(/does not resolve/);
  });

  it('says which host plain http was refused for, and that WEBHOOK_ALLOW_HOSTS lists others', async () => {
    // localhost on the list does not cover 127.0.0.1: the message shows both spellings.
    await expect(resolveWebhookTarget('http://127.0.0.1:9000/hook', ['localhost'])).rejects.toThrow(
      'must use https (got http): plain http is allowed only to hosts in WEBHOOK_ALLOW_HOSTS, ' +
        'and "127.0.0.1" is not one of them (the list: localhost)',
    );
    await expect(resolveWebhookTarget('http://localhost/hook', [])).rejects.toThrow(
      '"localhost" is not one of them (the list is empty)',
    );
  });

  it('lets allow-listed hosts use private addresses and http', async () => {
    const target = await resolveWebhookTarget(
      'http://receiver.internal:8080/x',
      ['receiver.internal'],
      resolvesTo('10.0.0.7'),
    );
    expect(target.address).toBe('10.0.0.7');
  });
});

describe('Standard Webhooks signature', () => {
  it('verifies with the reference library, and only with the same secret, id, timestamp and body', () => {
    const key = randomBytes(32);
    const secret = `whsec_${key.toString('base64')}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ type: 'job.completed', data: { id: 'x' } });
    const headers = webhookHeaders(key, 'msg_1', timestamp, body);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
    expect(signWebhook(key, 'msg_2', timestamp, body)).not.toBe(headers['webhook-signature']);
  });
});
