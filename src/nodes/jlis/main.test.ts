import { readLog } from '../../shared/logger.ts';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isIndividualNumber } from '../../domain/identifiers/individual-number.ts';
import { rawClient } from '../../protocol/raw-client.ts';
import { jpkiPaths } from './jpki/authority.ts';
import { startJlis } from './main.ts';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-jlis-main-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('startJlis', () => {
  it('creates the numbering key once, readable by its owner only, and keeps it across restarts', async () => {
    const keyFile = join(dir, 'jlis', 'numbering-key');
    const first = await startJlis({ dataDir: dir, port: 0, coreUrl: 'http://127.0.0.1:9' });
    const key = readFileSync(keyFile, 'utf8');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    await first.close();

    const second = await startJlis({ dataDir: dir, port: 0, coreUrl: 'http://127.0.0.1:9' });
    expect(readFileSync(keyFile, 'utf8')).toBe(key);
    await second.close();
  });

  it('keeps residents in its SQLite file and never logs their numbers', async () => {
    const node = await startJlis({ dataDir: dir, port: 0, coreUrl: 'http://127.0.0.1:9' });
    expect(node.name).toBe('jlis');
    const client = rawClient(node.url, 'J-LIS');
    const numbered = await client.post<{ residentRecordCode: string; individualNumber: string }>(
      '/admin/v1/residents',
      { name: '佐藤 一郎', address: '東京都千代田区千代田1番1号', dateOfBirth: '1970-01-01', sex: 'other' },
    );
    expect(isIndividualNumber(numbered.individualNumber)).toBe(true);
    await node.close();

    const again = await startJlis({ dataDir: dir, port: 0, coreUrl: 'http://127.0.0.1:9' });
    expect(await rawClient(again.url, 'J-LIS').get('/admin/v1/residents/count')).toEqual({ count: 1 });
    await again.close();

    const log = readLog(join(dir, 'logs', 'jlis.log'));
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(numbered.individualNumber);
    expect(log).not.toContain(numbered.residentRecordCode);
    expect(log).not.toContain('佐藤');
  });

  it('creates the JPKI CA at first start, its keys readable by J-LIS only, keeps it, and publishes its CRLs', async () => {
    const first = await startJlis({
      dataDir: dir,
      port: 0,
      coreUrl: 'http://127.0.0.1:9',
      jpkiPublicationPort: 0,
    });
    const paths = jpkiPaths(join(dir, 'jlis', 'jpki'));
    for (const key of [
      paths.root.key,
      paths.ca.signing.key,
      paths.ca.authentication.key,
      paths.responder.signing.key,
    ]) {
      expect(statSync(key).mode & 0o777).toBe(0o600);
    }
    for (const folder of [paths.dir, paths.root.dir, paths.ca.signing.dir])
      expect(statSync(folder).mode & 0o777).toBe(0o700);
    const root = readFileSync(paths.root.cert, 'utf8');
    const crl = await fetch(`${first.publicationUrl ?? ''}/jpki/v1/crl/authentication`);
    expect(crl.status).toBe(200);
    expect(crl.headers.get('content-type')).toBe('application/pkix-crl');
    expect((await fetch(`${first.publicationUrl ?? ''}/jpki/v1/crl/nothing`)).status).toBe(404);
    await first.close();

    const second = await startJlis({ dataDir: dir, port: 0, coreUrl: 'http://127.0.0.1:9' });
    expect(second.publicationUrl).toBeUndefined();
    expect(readFileSync(paths.root.cert, 'utf8')).toBe(root);
    await second.close();
  });
});
