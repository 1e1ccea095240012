/**
 * A loopback TCP proxy between the server and PostgreSQL that can misbehave the way networks,
 * load balancers and poolers do, so tests can put a real database behind a real fault:
 *
 * - `forward`: bytes pass both ways, as if the proxy were not there;
 * - `silent`: connections stay open and nothing passes either way, in both directions, and new
 *   connections are accepted and hear nothing (a blackholed network, a hung pooler, a
 *   half-open connection: TCP is up, PostgreSQL never answers);
 * - `accept-close`: new connections are accepted and closed at once (a pooler with no backend);
 *   existing ones keep forwarding;
 * - `dropConnections()`: every open connection is reset now (a failover, a restarted proxy).
 *
 * `silenceAfter(marker)` goes silent at the first chunk from the server's client that contains
 * `marker`: with `deliver` the chunk is forwarded first (the statement reaches PostgreSQL, its
 * answer never reaches the client), without it the chunk is held like the rest. That is how a
 * test catches a transaction mid-COMMIT.
 */
import { createServer, connect as dial, type Server, type Socket } from 'node:net';

export type FaultMode = 'forward' | 'silent' | 'accept-close';

export interface FaultProxy {
  /** The loopback port to point DATABASE_URL at. */
  readonly port: number;
  readonly mode: FaultMode;
  /** Connections accepted from the client since the proxy started (counts attempts). */
  readonly accepted: number;
  setMode(mode: FaultMode): void;
  /** Resets every open connection, both sides. */
  dropConnections(): void;
  /** Goes silent at the first client chunk containing `marker`, forwarding it if `deliver`. */
  silenceAfter(marker: string, options: { deliver: boolean }): Promise<void>;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** What each side sent while the proxy was silent, delivered when it forwards again. */
  held: { toUpstream: Buffer[]; toClient: Buffer[] };
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let mode: FaultMode = 'forward';
  let accepted = 0;
  const pairs = new Set<Pair>();
  let trigger: { marker: Buffer; deliver: boolean; fire: () => void } | undefined;

  const server: Server = createServer((client) => {
    accepted += 1;
    client.on('error', () => {});
    if (mode === 'accept-close') {
      client.destroy();
      return;
    }
    const upstream = dial(target.port, target.host);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    const pair: Pair = { client, upstream, held: { toUpstream: [], toClient: [] } };
    pairs.add(pair);
    const forget = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', forget);
    upstream.on('close', forget);
    // While silent, data is held, as TCP keeps retransmitting it until the network heals.
    client.on('data', (chunk: Buffer) => {
      if (trigger && mode !== 'silent' && chunk.includes(trigger.marker)) {
        const { deliver, fire } = trigger;
        trigger = undefined;
        if (deliver) upstream.write(chunk);
        else pair.held.toUpstream.push(chunk);
        mode = 'silent';
        fire();
        return;
      }
      if (mode === 'silent') {
        pair.held.toUpstream.push(chunk);
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (mode === 'silent') {
        pair.held.toClient.push(chunk);
        return;
      }
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');

  return {
    port: address.port,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    setMode(next) {
      mode = next;
      if (mode === 'silent') return;
      for (const { client, upstream, held } of pairs) {
        for (const chunk of held.toUpstream.splice(0)) upstream.write(chunk);
        for (const chunk of held.toClient.splice(0)) client.write(chunk);
      }
    },
    dropConnections() {
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    silenceAfter(marker, { deliver }) {
      return new Promise((resolve) => {
        trigger = { marker: Buffer.from(marker), deliver, fire: resolve };
      });
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
