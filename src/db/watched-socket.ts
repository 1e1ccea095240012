/**
 * The sockets postgres.js talks to PostgreSQL over (its `socket` option), with the guards a
 * silent network needs and no driver setting gives:
 *
 * - **A client-side answer timeout.** PostgreSQL answers every request: a query, or a batch
 *   ending in Sync, with ReadyForQuery ('Z'); the startup with ReadyForQuery once it is ready.
 *   This socket counts requests sent and ReadyForQuery messages received. While an answer is
 *   owed and nothing at all has arrived for `unansweredMs`, the socket is destroyed with
 *   DB_ANSWER_TIMEOUT: postgres.js fails whatever was waiting on it and never reuses the
 *   connection. `statement_timeout` cannot do this: on a silent network the server's
 *   cancellation never arrives. A statement that is running sends nothing until it ends, so
 *   `unansweredMs` must exceed the statement timeout (db/client.ts adds a margin).
 * - **Closed before answering.** A peer that closes while an answer is owed (a proxy that
 *   accepts and closes) is reported as a CONNECTION_CLOSED error. postgres.js would otherwise
 *   treat a clean close during start-up as "try again", and reconnect without end.
 * - **TCP keepalive**, so a peer that vanished is noticed even on an idle connection.
 *
 * With TLS (postgres.js wraps this socket after an SSLRequest) the bytes are encrypted and the
 * guards stand down for that connection; keepalive, the connect timeout and the request's own
 * deadline (plugins/tenant-transaction.ts) still hold.
 */
import { connect, type Socket } from 'node:net';

/** Error codes this socket fails with; the circuit breaker counts both as connection failures. */
export const ANSWER_TIMEOUT = 'DB_ANSWER_TIMEOUT';
const CLOSED_BEFORE_ANSWER = 'CONNECTION_CLOSED';

/** The int32 code of the first message of a connection that is not a StartupMessage. */
const SSL_REQUEST = 80_877_103;
const GSSENC_REQUEST = 80_877_104;
const CANCEL_REQUEST = 80_877_102;

/** Frontend messages PostgreSQL answers with ReadyForQuery: Sync ('S') and Query ('Q'). */
const SYNC = 0x53;
const QUERY = 0x51;
const READY_FOR_QUERY = 0x5a;

export interface WatchedSocketOptions {
  /** postgres.js's parsed connection options (`host`/`port` lists, or a Unix socket `path`). */
  target: { host: string; port: number } | { path: string };
  /** Destroy the socket when an answer is owed and nothing arrived for this long. */
  unansweredMs: number;
  /** TCP keepalive's idle time before the first probe. */
  keepAliveMs: number;
}

/**
 * Splits a byte stream into PostgreSQL messages (a type byte, then an int32 length that counts
 * itself) and calls `onMessage` with each type byte. Messages may span chunks.
 */
function messageTypes(onMessage: (type: number) => void): (chunk: Buffer) => void {
  let header = Buffer.alloc(0);
  let bodyLeft = 0;
  return (chunk) => {
    let offset = 0;
    while (offset < chunk.length) {
      if (bodyLeft > 0) {
        const taken = Math.min(bodyLeft, chunk.length - offset);
        bodyLeft -= taken;
        offset += taken;
        continue;
      }
      const needed = 5 - header.length;
      header = Buffer.concat([header, chunk.subarray(offset, offset + needed)]);
      offset += Math.min(needed, chunk.length - offset);
      if (header.length < 5) return;
      onMessage(header[0] as number);
      bodyLeft = header.readUInt32BE(1) - 4;
      header = Buffer.alloc(0);
    }
  };
}

export function openWatchedSocket(options: WatchedSocketOptions): Socket {
  const socket =
    'path' in options.target
      ? connect({ path: options.target.path })
      : connect({ host: options.target.host, port: options.target.port });
  socket.setKeepAlive(true, options.keepAliveMs);

  let owed = 0;
  let watching = true;
  let timer: NodeJS.Timeout | undefined;
  let firstMessage = true;

  const fail = (code: string, message: string) => {
    socket.destroy(Object.assign(new Error(message), { code }));
  };
  const expire = () => {
    timer = undefined;
    fail(
      ANSWER_TIMEOUT,
      `PostgreSQL sent nothing for ${options.unansweredMs} ms while an answer was owed`,
    );
  };
  const rearm = () => {
    clearTimeout(timer);
    timer = owed > 0 && watching ? setTimeout(expire, options.unansweredMs) : undefined;
  };
  const standDown = () => {
    watching = false;
    owed = 0;
    rearm();
  };

  const sent = messageTypes((type) => {
    if (type === SYNC || type === QUERY) owed += 1;
  });
  const received = messageTypes((type) => {
    if (type === READY_FOR_QUERY && owed > 0) owed -= 1;
  });

  const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (watching && Buffer.isBuffer(chunk)) {
      if (firstMessage) {
        firstMessage = false;
        // The first message has no type byte: an int32 length, then an int32 code.
        const code = chunk.length >= 8 ? chunk.readUInt32BE(4) : 0;
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) standDown();
        else if (code !== CANCEL_REQUEST) owed += 1; // StartupMessage: answered when ready
        if (watching && chunk.length > 8) sent(chunk.subarray(chunk.readUInt32BE(0)));
      } else {
        sent(chunk);
      }
      if (timer === undefined) rearm();
    }
    return write(chunk, ...rest);
  }) as Socket['write'];

  socket.on('data', (chunk: Buffer) => {
    if (!watching) return;
    received(chunk);
    // Any byte is progress: rows of a long result arrive over time.
    rearm();
  });
  socket.on('end', () => {
    if (watching && owed > 0) fail(CLOSED_BEFORE_ANSWER, 'PostgreSQL closed the connection');
  });
  socket.on('close', () => {
    watching = false;
    clearTimeout(timer);
  });
  return socket;
}
