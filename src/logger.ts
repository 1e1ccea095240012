/**
 * The process logger: pino JSON lines in production, pretty-printed in development.
 * Authorization headers and tokens are redacted wherever they appear in a log object.
 */
import { GraphQLError } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from './config.ts';
import { currentRequestId } from './plugins/request-id.ts';

/** `destination` replaces stdout (tests collect the lines). */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'env'>,
  destination?: DestinationStream,
) {
  const pretty = config.env === 'development' && !destination;
  return pino(
    {
      level: config.logLevel,
      // Every line written while handling a request names it, so a client's
      // `extensions.requestId` finds the log lines of its request.
      mixin: () => {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', '*.token', 'token'],
        censor: '[redacted]',
      },
      ...(pretty
        ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss' } } }
        : {}),
    },
    destination,
  );
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
