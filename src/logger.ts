/**
 * The process logger: pino JSON lines, pretty-printed in development on a terminal.
 * Secrets and personal data are redacted wherever they appear in a log object (REDACTED_PATHS).
 */
import { createRequire } from 'node:module';
import { GraphQLError } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from './config.ts';

/**
 * Log-object paths whose values are replaced by `[redacted]`: credentials (Authorization and
 * cookie headers, tokens, keys, passwords, secrets), personal data (emails), request
 * variables (free text: notes, names, emails), and the parts of a database error that quote
 * row values (`detail`) or statement parameters. The request log (plugins/request-log.ts)
 * never writes any of these; this is the second wall, for whatever else gets logged.
 * A `*` matches one level, so `*.token` covers `{ auth: { token } }`.
 */
const REDACTED_FIELDS = [
  'authorization',
  'cookie',
  'token',
  'accessToken',
  'refreshToken',
  'password',
  'secret',
  'key',
  'apiKey',
  'privateKey',
  'email',
  'variables',
];

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["set-cookie"]',
  ...REDACTED_FIELDS.flatMap((field) => [field, `*.${field}`]),
  'err.detail',
  'err.parameters',
  'err.params',
];

/** `destination` replaces stdout (tests collect the lines). */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'env'>,
  destination?: DestinationStream,
) {
  // Pretty only for a person at a terminal: piped output (a log shipper, `| jq`) stays JSON.
  // pino-pretty is a devDependency, absent after `npm ci --omit=dev`: then JSON, not a crash.
  const pretty =
    config.env === 'development' && !destination && process.stdout.isTTY && hasPinoPretty();
  return pino(
    {
      level: config.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      ...(pretty
        ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss' } } }
        : {}),
    },
    destination,
  );
}

function hasPinoPretty(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * pino behind Yoga's logger interface. Yoga also logs each error the mask replaced; the
 * mask has already logged those with their root cause, so Yoga's copy is dropped.
 */
export function yogaLogger(logger: Logger): YogaLogger {
  const forward =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      if (level === 'error' && args[0] instanceof GraphQLError) return;
      const [first, ...rest] = args;
      if (first instanceof Error) logger[level]({ err: first }, rest.map(String).join(' '));
      else
        logger[level](
          args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '),
        );
    };
  return {
    debug: forward('debug'),
    info: forward('info'),
    warn: forward('warn'),
    error: forward('error'),
  };
}
