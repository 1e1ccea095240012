/**
 * `npm run -s token -- --tenant acme --user alice [--scopes "read:products read:orders"] [--ttl 15m]`
 * prints one development JWT on stdout and nothing else, so `TOKEN=$(npm run -s token -- ...)`
 * works. Errors go to stderr with exit status 1. The tokens themselves: auth/dev-token.ts.
 */
import { parseArgs } from 'node:util';
import {
  assertDevKey,
  DevTokenError,
  parseScopes,
  parseTtl,
  resolveDevUser,
  signFor,
  tokenTtl,
} from '../auth/dev-token.ts';
import { ROLE_SCOPES } from '../auth/viewer.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { isEntryPoint } from './entry-point.ts';

const USAGE = `Usage: npm run -s token -- --tenant <slug> --user <username> [--scopes "a b"] [--ttl 15m]

Prints one development JWT, signed with the key in DATA_DIR, on stdout.
  --tenant  tenant slug (demo: acme, globex)
  --user    username in that tenant (demo: alice bob carol, dave erin frank)
  --scopes  narrow the role's scopes, space-separated (default: all the role grants)
  --ttl     lifetime: 90s, 15m, 2h, 1d (default 15m; at most JWT_MAX_TOKEN_LIFETIME,
            which is 15m unless set; the server refuses longer-lived tokens)`;

export async function main(argv: readonly string[]): Promise<number> {
  try {
    let values: { tenant?: string; user?: string; scopes?: string; ttl?: string; help?: boolean };
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: {
          tenant: { type: 'string' },
          user: { type: 'string' },
          scopes: { type: 'string' },
          ttl: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: false,
      }));
    } catch (error) {
      throw new DevTokenError(`${(error as Error).message}\n\n${USAGE}`);
    }
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (!values.tenant || !values.user) {
      throw new DevTokenError(`--tenant and --user are required.\n\n${USAGE}`);
    }
    const requestedTtl = values.ttl === undefined ? undefined : parseTtl(values.ttl);
    const scopes = values.scopes === undefined ? undefined : parseScopes(values.scopes);
    const config = loadConfig();
    assertDevKey(config);
    const ttlSeconds = tokenTtl(config, requestedTtl);
    const user = await resolveDevUser(config, values.tenant, values.user);
    if (scopes) {
      const granted: readonly string[] = ROLE_SCOPES[user.role];
      const ignored = scopes.filter((scope) => !granted.includes(scope));
      if (ignored.length > 0) {
        process.stderr.write(
          `note: role ${user.role} does not grant ${ignored.join(', ')}; the server will ignore ${ignored.length > 1 ? 'them' : 'it'}.\n`,
        );
      }
    }
    const token = await signFor(config, user, scopes, ttlSeconds);
    process.stdout.write(`${token}\n`);
    return 0;
  } catch (error) {
    if (error instanceof DevTokenError || error instanceof ConfigError) {
      process.stderr.write(`token: ${error.message}\n`);
    } else {
      process.stderr.write(`token: ${(error as Error)?.stack ?? String(error)}\n`);
    }
    return 1;
  }
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
