import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../shared/clock.ts';
import { openDatabase } from '../../shared/db.ts';
import { silentLogger } from '../../shared/logger.ts';
import { createKyselyCorporateStore, type CorporateDatabase } from './kysely-store.ts';
import { migrateCorporateDatabase } from './migrations.ts';
import { REAL_CORPORATIONS, seedCorporations, syntheticCorporations } from './seed.ts';
import { CorporateNumberService } from './service/corporations.ts';

const dir = mkdtempSync(join(tmpdir(), 'renkei-corporate-seed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the demo register', () => {
  it('holds the real bodies under their published numbers, and thousands of distinct synthetic ones', async () => {
    const db = await openDatabase<CorporateDatabase>({ dialect: 'sqlite', file: join(dir, 'c.sqlite') });
    try {
      await migrateCorporateDatabase(db);
      const service = new CorporateNumberService({
        store: createKyselyCorporateStore(db),
        clock: fixedClock('2026-04-01T00:00:00Z'),
        logger: silentLogger(),
      });
      const seeded = await seedCorporations(service, 3_000);
      expect(seeded).toBeGreaterThan(3_000);
      expect(await service.count()).toBe(seeded);
      for (const [number, name] of [
        ['7000012050002', '国税庁'],
        ['1180301018771', 'トヨタ自動車株式会社'],
        ['8000020130001', '東京都'],
        ['7000020131041', '新宿区'],
      ]) {
        expect((await service.show(number as string)).name).toBe(name);
      }
      // A second start seeds nothing.
      expect(await seedCorporations(service, 3_000)).toBe(0);
      const synthetic = syntheticCorporations(3_000);
      expect(synthetic).toEqual(syntheticCorporations(3_000)); // the same for the same seed
      expect((await service.search({ name: 'さくら', limit: 1000 })).corporations.length).toBeGreaterThan(10);
    } finally {
      await db.destroy();
    }
  });

  it('numbers synthetic companies outside every real registry office, under names no real one has', () => {
    const synthetic = syntheticCorporations(5_000);
    expect(synthetic.every((d) => d.base?.startsWith('9900'))).toBe(true);
    expect(new Set(synthetic.map((d) => d.base)).size).toBe(synthetic.length);
    expect(new Set(synthetic.map((d) => d.name)).size).toBe(synthetic.length);
    const real = new Set(REAL_CORPORATIONS.map((d) => d.name));
    expect(synthetic.some((d) => real.has(d.name))).toBe(false);
  });
});
