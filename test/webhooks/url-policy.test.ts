/**
 * SSRF rules of webhook URLs (pure functions, with a stub resolver instead of DNS) and the
 * signatures' compatibility with the `standardwebhooks` package.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { newSigningSecret, signatureHeader } from '../../src/webhooks/signing.ts';
import {
  isPublicAddress,
  parseWebhookUrl,
  type Resolver,
  resolveWebhookAddress,
  type UrlPolicy,
} from '../../src/webhooks/url-policy.ts';

const PRODUCTION_ENV = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://orders@db.internal:5432/orders',
  JWT_ISSUER: 'https://id.example.com/',
  JWT_AUDIENCE: 'orders-api',
  JWT_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
};

function policyOf(env: Record<string, string>): UrlPolicy {
  const { requireHttps, allowPrivateUrls } = loadConfig(env).webhooks;
  return { requireHttps, allowPrivate: allowPrivateUrls };
}

const production = policyOf(PRODUCTION_ENV);

/** A resolver answering from a fixed table, as a hostile DNS server could. */
function resolver(answers: Record<string, string[]>): Resolver {
  return async (hostname) => {
    const addresses = answers[hostname];
    if (!addresses) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

async function check(url: string, policy: UrlPolicy, answers: Record<string, string[]> = {}) {
  return resolveWebhookAddress(parseWebhookUrl(url, policy), policy, resolver(answers));
}

describe('in production', () => {
  it('refuses plain http', () => {
    expect(() => parseWebhookUrl('http://hooks.example.com/', production)).toThrow(
      'Only https URLs can receive webhooks.',
    );
  });

  it.each([
    'https://127.0.0.1/',
    'https://[::1]/',
    'https://10.1.2.3/',
    'https://192.168.0.10/',
    'https://172.16.5.5/',
    'https://169.254.169.254/latest/meta-data',
    'https://100.64.0.1/',
    'https://0.0.0.0/',
    'https://[fd00::1]/',
    'https://[fe80::1]/',
    'https://[::ffff:127.0.0.1]/',
  ])('refuses %s, a non-public address', async (url) => {
    await expect(check(url, production)).rejects.toThrow(
      'The URL resolves to a loopback, private or otherwise non-public address.',
    );
  });

  it.each([
    ['a NUL character', 'https://hooks.example.com/a\u0000b'],
    ['a space', 'https://hooks.example.com/a b'],
    ['a newline', 'https://hooks.example.com/a\nb'],
    ['a tab', 'https://hooks.example\t.com/'],
  ])('refuses a URL with %s, which the URL parser would drop or encode', (_case, url) => {
    expect(() => parseWebhookUrl(url, production)).toThrow(
      'A URL may not contain spaces or control characters; percent-encode them.',
    );
  });

  it('refuses a host whose DNS answer holds any private address, even after public ones', async () => {
    await expect(
      check('https://hooks.example.com/', production, {
        'hooks.example.com': ['93.184.216.34', '10.0.0.7'],
      }),
    ).rejects.toThrow('non-public address');
  });

  it('accepts a host that resolves to public addresses only, and returns the one to connect to', async () => {
    expect(
      await check('https://hooks.example.com/x', production, {
        'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
      }),
    ).toEqual({ address: '93.184.216.34', family: 4 });
  });

  it('allows private addresses with WEBHOOK_ALLOW_PRIVATE_URLS=true, still over https only', async () => {
    const allowed = policyOf({ ...PRODUCTION_ENV, WEBHOOK_ALLOW_PRIVATE_URLS: 'true' });
    expect(await check('https://10.1.2.3/', allowed)).toEqual({ address: '10.1.2.3', family: 4 });
    expect(() => parseWebhookUrl('http://10.1.2.3/', allowed)).toThrow('Only https');
  });
});

describe('outside production', () => {
  it('allows loopback over http', async () => {
    const development = policyOf({});
    expect(await check('http://127.0.0.1:8080/hooks', development)).toEqual({
      address: '127.0.0.1',
      family: 4,
    });
  });

  it('refuses a host that does not resolve, as retryable', async () => {
    await expect(check('http://nowhere.invalid/', policyOf({}))).rejects.toMatchObject({
      name: 'UrlRefusedError',
      retryable: true,
    });
  });
});

describe('isPublicAddress', () => {
  it('says unicast internet addresses are public and everything else is not', () => {
    expect(isPublicAddress('8.8.8.8')).toBe(true);
    expect(isPublicAddress('2001:4860:4860::8888')).toBe(true);
    expect(isPublicAddress('::ffff:8.8.8.8')).toBe(true);
    expect(isPublicAddress('::ffff:192.168.1.1')).toBe(false);
    expect(isPublicAddress('224.0.0.1')).toBe(false);
    expect(isPublicAddress('not an address')).toBe(false);
  });
});

describe('signatures', () => {
  it('verify with the standardwebhooks package, one secret or two', () => {
    const [current, previous] = [newSigningSecret(), newSigningSecret()];
    expect(Buffer.from(current.slice('whsec_'.length), 'base64')).toHaveLength(32);
    const body = JSON.stringify({ type: 'order.created', data: {} });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = (secrets: string[]) => ({
      'webhook-id': 'msg_01h455vb4pex5vsknk084sn02q',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(
        secrets,
        'msg_01h455vb4pex5vsknk084sn02q',
        timestamp,
        body,
      ),
    });
    expect(new Webhook(current).verify(body, headers([current]))).toEqual(JSON.parse(body));
    const both = headers([current, previous]);
    expect(both['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(current).verify(body, both)).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, both)).toEqual(JSON.parse(body));
    expect(() => new Webhook(previous).verify(body, headers([current]))).toThrow();
    // A body changed in transit does not verify.
    expect(() => new Webhook(current).verify(`${body} `, headers([current]))).toThrow();
  });
});
