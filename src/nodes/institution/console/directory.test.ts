/**
 * The clerk console's providers come from the core's directory, over real HTTP: what the registry
 * holds (names and kinds, no address), kept a while, and when the core cannot be reached the last
 * directory fetched (or, before any, the node's configured entries), the failure logged by its code.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkDirectory } from '../../../protocol/admin.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import { silentLogger } from '../../../shared/logger.ts';
import { startTestCore, type TestCore } from '../../core/test-support.ts';
import { ProviderDirectory } from './directory.ts';

let core: TestCore;
beforeAll(async () => {
  core = await startTestCore();
  await core.register('131041', 'municipality', 'http://127.0.0.1:1');
  await core.register('kyokai-kenpo', 'health_insurer', 'http://127.0.0.1:2');
});
afterAll(async () => core?.dispose());

/** The core's directory over HTTP, as the institution's client asks for it. */
async function fetchDirectory(): Promise<NetworkDirectory> {
  const { status, body } = await core.call('GET', '/v1/directory');
  if (status !== 200) throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `the core answered ${status}`);
  return NetworkDirectory.parse(body);
}

describe("the clerk console's provider directory", () => {
  it("is the core's registry: ids, names and kinds, never an address, no suspended one; a registration shows once the minute is up", async () => {
    const { body } = await core.call<{ institutions: Record<string, unknown>[] }>('GET', '/v1/directory');
    expect(body.institutions.map((i) => Object.keys(i).sort())).toEqual([
      ['id', 'kind', 'name', 'nameEn'],
      ['id', 'kind', 'name', 'nameEn'],
    ]);
    const kept = new ProviderDirectory({ fetch: fetchDirectory, logger: silentLogger() });
    const fresh = new ProviderDirectory({ fetch: fetchDirectory, logger: silentLogger(), maxAgeMs: 0 });
    expect(await kept.entries()).toEqual([
      { id: '131041', name: '131041', nameEn: '131041', kind: 'municipality' },
      { id: 'kyokai-kenpo', name: 'kyokai-kenpo', nameEn: 'kyokai-kenpo', kind: 'health_insurer' },
    ]);
    await core.register('152048', 'municipality', 'http://127.0.0.1:3');
    expect((await kept.entries()).map((e) => e.id)).toEqual(['131041', 'kyokai-kenpo']);
    expect((await fresh.entries()).map((e) => e.id)).toEqual(['131041', '152048', 'kyokai-kenpo']);
    // A suspended institution is left out (the core would refuse an inquiry to it), and back once reinstated.
    const change = { reason: 'テスト' };
    expect((await core.call('POST', '/admin/v1/institutions/152048/suspensions', change)).status).toBe(200);
    expect((await fresh.entries()).map((e) => e.id)).toEqual(['131041', 'kyokai-kenpo']);
    expect((await core.call('POST', '/admin/v1/institutions/152048/reinstatements', change)).status).toBe(
      200,
    );
    expect((await fresh.entries()).map((e) => e.id)).toEqual(['131041', '152048', 'kyokai-kenpo']);
  });

  it('keeps the last directory fetched when the core is down, and the configured one before any; says so by code', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    let up = true;
    const flaky = () =>
      up ? fetchDirectory() : Promise.reject(new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', 'down'));
    const configured = [{ id: '999999', name: '設定の市', kind: 'municipality' as const }];
    const directory = new ProviderDirectory({ fetch: flaky, configured, logger, maxAgeMs: 0 });
    up = false;
    expect(await directory.entries()).toEqual(configured);
    up = true;
    const fetched = await directory.entries();
    expect(fetched.map((e) => e.id)).toContain('kyokai-kenpo');
    up = false;
    expect(await directory.entries()).toEqual(fetched);
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE' });
    // Without a core to ask, only the configured entries.
    expect(await new ProviderDirectory({ configured, logger }).entries()).toEqual(configured);
  });
});
