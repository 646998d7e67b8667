/**
 * The parse cache never changes what a node loads: the table from a cached parse is the table from the
 * files, an edited file is parsed again at the next load, an entry that is not sound is ignored, a bad
 * file fails with the same message either way, and a cache that cannot be written only costs time.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RenkeiError } from '../../shared/errors.ts';
import { DEFAULT_LEGAL_DIR, legalFilesDigest, loadLegalTable, readLegalFiles } from './index.ts';
import type { LegalTable } from './types.ts';
import { parseCacheKey } from './parse-cache.ts';

const temps: string[] = [];

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** A copy of the real `legal/` and an empty cache directory for it. */
function setUp(): { legal: string; cache: string } {
  const legal = tempDir('renkei-legal-');
  cpSync(DEFAULT_LEGAL_DIR, legal, { recursive: true });
  return { legal, cache: join(tempDir('renkei-legal-cache-'), 'cache') };
}

/** What a table holds, as data (its functions are built from these). */
function contents(table: LegalTable): unknown {
  const { digest, clauses, procedures, items, warnings } = table;
  return JSON.parse(JSON.stringify({ digest, clauses, procedures, items, warnings }));
}

/** The path of the entry for `legal`'s current files. */
function entryPath(legal: string, cache: string): string {
  return join(cache, `${parseCacheKey(legalFilesDigest(readLegalFiles(legal)))}.json`);
}

/** Rewrite an entry's body, with a header that matches it (as a sound entry would). */
function rewriteEntry(path: string, change: (body: string) => string): void {
  const text = readFileSync(path, 'utf8');
  const newline = text.indexOf('\n');
  const header = JSON.parse(text.slice(0, newline)) as { key: string };
  const body = change(text.slice(newline + 1));
  const sha256 = createHash('sha256').update(body).digest('hex');
  writeFileSync(path, `${JSON.stringify({ key: header.key, sha256 })}\n${body}`);
}

function errorOf(load: () => unknown): RenkeiError {
  try {
    load();
  } catch (error) {
    if (error instanceof RenkeiError) return error;
    throw error;
  }
  throw new Error('expected the legal table to be refused');
}

describe('the legal table parse cache', () => {
  it('gives the same table, digest and warnings as parsing the files, and keeps one entry', () => {
    const { legal, cache } = setUp();
    const parsed = loadLegalTable(legal, { parseCache: false });
    const first = loadLegalTable(legal, { parseCache: cache });
    const second = loadLegalTable(legal, { parseCache: cache });

    expect(readdirSync(cache)).toEqual([`${parseCacheKey(parsed.digest)}.json`]);
    expect(second.digest).toBe(loadLegalTable(DEFAULT_LEGAL_DIR, { parseCache: false }).digest);
    expect(contents(first)).toEqual(contents(parsed));
    expect(contents(second)).toEqual(contents(parsed));
    expect(second.files).toEqual(parsed.files);
    const on = new Date('2024-04-01T00:00:00+09:00');
    expect(second.layoutFor(1, on)).toEqual(parsed.layoutFor(1, on));
    expect(second.checkLayout(1, on, {})).toEqual(parsed.checkLayout(1, on, {}));
  });

  it('is read instead of the YAML when its entry is sound', () => {
    const { legal, cache } = setUp();
    loadLegalTable(legal, { parseCache: cache });
    // An entry the files do not say: if the table shows it, the YAML was not parsed again.
    rewriteEntry(entryPath(legal, cache), (body) => body.replaceAll('児童手当法', '児童手当法(キャッシュ)'));
    expect(loadLegalTable(legal, { parseCache: cache }).findClause('74')?.law).toBe('児童手当法(キャッシュ)');
  });

  it('parses an edited file again at the next load, and keeps the new parse beside the old', () => {
    const { legal, cache } = setUp();
    const before = loadLegalTable(legal, { parseCache: cache });
    expect(before.findClause('74')?.law).toBe('児童手当法');

    const path = join(legal, 'clauses.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace('law: 児童手当法', 'law: 児童手当法(改正)'));
    const after = loadLegalTable(legal, { parseCache: cache });

    expect(after.findClause('74')?.law).toBe('児童手当法(改正)');
    expect(after.digest).not.toBe(before.digest);
    expect(contents(after)).toEqual(contents(loadLegalTable(legal, { parseCache: false })));
    expect(readdirSync(cache).sort()).toEqual(
      [`${parseCacheKey(before.digest)}.json`, `${parseCacheKey(after.digest)}.json`].sort(),
    );
  });

  it.each([
    [
      'a body that does not match its header',
      (path: string) => {
        const text = readFileSync(path, 'utf8');
        writeFileSync(path, text.replaceAll('児童手当法', '児童手当法(改竄)'));
      },
    ],
    [
      'a truncated entry',
      (path: string) => {
        const text = readFileSync(path, 'utf8');
        writeFileSync(path, text.slice(0, Math.floor(text.length / 2)));
      },
    ],
    [
      'an entry of other files under this name',
      (path: string) => {
        const text = readFileSync(path, 'utf8');
        const newline = text.indexOf('\n');
        const header = JSON.parse(text.slice(0, newline)) as { sha256: string };
        writeFileSync(
          path,
          `${JSON.stringify({ key: parseCacheKey('0'.repeat(64)), sha256: header.sha256 })}${text.slice(newline)}`,
        );
      },
    ],
    [
      'bytes that are not an entry',
      (path: string) => writeFileSync(path, Buffer.from([0xff, 0x00, 0x7b, 0x0a])),
    ],
    [
      'a sound header over JSON without the three files',
      (path: string) => rewriteEntry(path, () => JSON.stringify({ clauses: [] })),
    ],
  ])('ignores %s and parses the files (then keeps a sound entry)', (_what, spoil) => {
    const { legal, cache } = setUp();
    const parsed = loadLegalTable(legal, { parseCache: cache });
    const path = entryPath(legal, cache);
    spoil(path);

    const table = loadLegalTable(legal, { parseCache: cache });
    expect(table.findClause('74')?.law).toBe('児童手当法');
    expect(contents(table)).toEqual(contents(parsed));
    // The miss wrote the entry again, and it is now read as it should be.
    expect(readFileSync(path, 'utf8')).toContain('"key"');
    expect(contents(loadLegalTable(legal, { parseCache: cache }))).toEqual(contents(parsed));
  });

  it('refuses a file that breaks a rule with the same message from the cache as from the YAML', () => {
    const { legal, cache } = setUp();
    const path = join(legal, 'procedures.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace("clauseNo: '74'", "clauseNo: '999'"));
    const parsed = errorOf(() => loadLegalTable(legal, { parseCache: false }));
    expect(parsed.message).toContain('clause 999 is not defined in legal/clauses.yaml');

    const first = errorOf(() => loadLegalTable(legal, { parseCache: cache }));
    expect(existsSync(entryPath(legal, cache))).toBe(true);
    const second = errorOf(() => loadLegalTable(legal, { parseCache: cache }));
    for (const error of [first, second]) {
      expect(error.code).toBe(parsed.code);
      expect(error.message).toBe(parsed.message);
      expect(error.details).toEqual(parsed.details);
    }
  });

  it('refuses a file that is not YAML with the same message, and keeps nothing for it', () => {
    const { legal, cache } = setUp();
    writeFileSync(join(legal, 'items.yaml'), '- itemNo: 1\n  name: [unclosed\n');
    const parsed = errorOf(() => loadLegalTable(legal, { parseCache: false }));
    const cached = errorOf(() => loadLegalTable(legal, { parseCache: cache }));
    expect(parsed.message).toContain('legal/items.yaml: is not valid YAML');
    expect(cached.message).toBe(parsed.message);
    expect(existsSync(cache)).toBe(false);
  });

  it('keeps nothing for YAML whose data JSON cannot carry as it is (.inf), and still refuses it the same way', () => {
    const { legal, cache } = setUp();
    const path = join(legal, 'items.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace('maxLength: 20', 'maxLength: .inf'));
    const parsed = errorOf(() => loadLegalTable(legal, { parseCache: false }));
    const cached = errorOf(() => loadLegalTable(legal, { parseCache: cache }));
    expect(cached.message).toBe(parsed.message);
    expect(existsSync(cache)).toBe(false);
  });

  it('loads when the cache directory cannot be written', () => {
    const { legal } = setUp();
    const file = join(tempDir('renkei-legal-cache-'), 'not-a-directory');
    writeFileSync(file, '');
    const table = loadLegalTable(legal, { parseCache: join(file, 'cache') });
    expect(contents(table)).toEqual(contents(loadLegalTable(legal, { parseCache: false })));
  });
});
