/**
 * Ports on 127.0.0.1 chosen by the system, for a server whose URL others need before it listens (the
 * demo network with `--port-base 0`, and tests).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A port free now. Another program could take it before it is used: the server then fails to start
 * with ERR_PORT_IN_USE, as with a fixed port. Where the wait is long, `reservePort` instead.
 */
export async function freePort(): Promise<number> {
  const { port, release } = await reservePort();
  await release();
  return port;
}

/**
 * A port free now, chosen outside the system's ephemeral range (Linux's `ip_local_port_range`), for a
 * server another process binds seconds later (a node being spawned). A port from `freePort` is from
 * inside that range, where the kernel hands out ports to every server listening on port 0 and to
 * every outgoing connection: during those seconds one of them could be given it. Outside the range,
 * only a program asking for this very port could take it. Where the range cannot be read (not Linux),
 * `freePort`.
 */
export async function freePortOutsideEphemeral(): Promise<number> {
  const low = ephemeralLow();
  if (low === undefined || low <= MIN_PORT + 1000) return freePort();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = MIN_PORT + Math.floor(Math.random() * (low - MIN_PORT));
    if (await bindable(port)) return port;
  }
  return freePort();
}

/** The lowest port below which no server outside this range is likely to be (registered services). */
const MIN_PORT = 10_000;

function ephemeralLow(): number | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isSafeInteger(low) ? low : undefined;
  } catch {
    return undefined;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer().unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port held bound until `release` (call it just before the server listens on it). */
export interface PortReservation {
  port: number;
  release: () => Promise<void>;
}

/**
 * A port bound now and kept so until released; a connection to it meanwhile is closed at once (so
 * none holds up the release), and the reservation keeps no process alive.
 */
export function reservePort(): Promise<PortReservation> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.destroy()).unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const release = () => new Promise<void>((done) => server.close(() => done()));
      if (address === null || typeof address === 'string') {
        void release();
        reject(new TypeError('expected a TCP address'));
        return;
      }
      resolve({ port: address.port, release });
    });
  });
}
