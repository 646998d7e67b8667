/**
 * Ports on 127.0.0.1 chosen by the system, for a server whose URL others need before it listens (the
 * demo network with `--port-base 0`, and tests).
 */
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
