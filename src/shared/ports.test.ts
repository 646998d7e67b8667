/**
 * Ports for servers started later: one held bound until released, and one chosen outside the
 * ephemeral range, where no port-0 listener or outgoing connection is given it meanwhile.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePortOutsideEphemeral, reservePort } from './ports.ts';

const RANGE = '/proc/sys/net/ipv4/ip_local_port_range';

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('ports for servers that start later', () => {
  it.runIf(existsSync(RANGE))(
    'picks a free port below the ephemeral range, where port 0 never lands',
    async () => {
      const low = Number(readFileSync(RANGE, 'utf8').trim().split(/\s+/)[0]);
      const ports = new Set<number>();
      for (let i = 0; i < 5; i++) {
        const port = await freePortOutsideEphemeral();
        expect(port).toBeGreaterThanOrEqual(10_000);
        expect(port).toBeLessThan(low);
        ports.add(port);
        const server = await listenOn(port); // free indeed
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      expect(ports.size).toBeGreaterThan(1); // chosen at random, not one fixed port
      const anyPort = await listenOn(0);
      expect((anyPort.address() as { port: number }).port).toBeGreaterThanOrEqual(low);
      await new Promise<void>((resolve) => anyPort.close(() => resolve()));
    },
  );

  it('holds a reserved port bound until released, then frees it', async () => {
    const reservation = await reservePort();
    await expect(listenOn(reservation.port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await reservation.release();
    const server = await listenOn(reservation.port);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
