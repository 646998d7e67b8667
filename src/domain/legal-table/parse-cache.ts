/**
 * The legal table's YAML, parsed, kept between starts. Parsing the three files with `yaml` was most of
 * what loading the table cost a node at start (about 130 ms of 170 ms, cold: the parser's code is run
 * once per process, never warm), and `renkei start`, the tests and the chaos driver start node
 * processes by the dozen. Reading the parsed data back as JSON takes about 1 ms.
 *
 * Only the YAML parse is kept: every start still validates the data in full and builds the table from
 * it, so the cache cannot change what a table allows; it can only save parsing the same bytes again.
 * An entry is named and keyed by the sha-256 of the files' exact bytes (the table's digest), this
 * format's version and the `yaml` package's version, so an edited file is a new key and is parsed at
 * the next start. An entry is used only when its header names that key and the sha-256 of its body; a
 * truncated, edited or unreadable entry is ignored (and the files parsed). Entries are written to a
 * temporary file and renamed into place, so a process starting beside another never reads half of one,
 * and nothing is written where the directory cannot be (a read-only installation just parses).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { writeFileAtomic } from '../../shared/files.ts';
import { sha256Hex } from '../../shared/hash.ts';
import type { LegalSource } from './legal-files.ts';

/** Where a checkout keeps it: beside bin/renkei.js's bundles, in a directory of its own. */
export const DEFAULT_PARSE_CACHE_DIR = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'node_modules',
  '.cache',
  'renkei-legal-table',
);

/** Raise when what an entry holds, or how the YAML is turned into it, changes. */
const FORMAT_VERSION = 1;

/** Entries kept (a test suite loads many edited copies of `legal/`; a deployment one or two). */
const MAX_ENTRIES = 32;

/** The entry's name and the key its header must carry: files' digest, format and parser versions. */
export function parseCacheKey(digest: string): string {
  return createHash('sha256')
    .update(`renkei legal parse cache\0${FORMAT_VERSION}\0yaml ${yamlVersion()}\0${digest}`)
    .digest('hex');
}

/**
 * The parsed files of the version with this digest, if `dir` holds a sound entry for it.
 * Never throws: any problem with the entry is a miss.
 */
export function readParsedSource(dir: string, digest: string): LegalSource | undefined {
  const key = parseCacheKey(digest);
  const path = join(dir, `${key}.json`);
  try {
    const text = readFileSync(path, 'utf8');
    const newline = text.indexOf('\n');
    if (newline < 0) return undefined;
    const header = JSON.parse(text.slice(0, newline)) as { key?: unknown; sha256?: unknown };
    const body = text.slice(newline + 1);
    if (header.key !== key || header.sha256 !== sha256Hex(body)) return undefined;
    const source = JSON.parse(body) as Partial<LegalSource> | null;
    if (!source || !('clauses' in source && 'procedures' in source && 'items' in source)) return undefined;
    touch(path);
    return source as LegalSource;
  } catch {
    return undefined;
  }
}

/**
 * Keep the parsed files of the version with this digest in `dir`. Data JSON cannot carry as it is
 * (a YAML `.inf`, a `!!binary`, a shared anchor forming a cycle…) is not kept: those files are parsed
 * at every start, as before. Never throws: a cache that cannot be written is only slower.
 */
export function writeParsedSource(dir: string, digest: string, source: LegalSource): void {
  if (!isJson(source, [])) return;
  const key = parseCacheKey(digest);
  const path = join(dir, `${key}.json`);
  try {
    const body = JSON.stringify(source);
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(path, `${JSON.stringify({ key, sha256: sha256Hex(body) })}\n${body}`, 0o644);
    removeOldest(dir);
  } catch {
    // Nothing is kept where nothing can be written.
  }
}

/** Only null, booleans, strings, finite numbers (not -0), arrays and plain objects, without cycles. */
function isJson(value: unknown, ancestors: object[]): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (typeof value !== 'object' || ancestors.includes(value)) return false;
  const inner = [...ancestors, value];
  if (Array.isArray(value)) {
    return Object.keys(value).length === value.length && value.every((v) => isJson(v, inner));
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.values(value).every((v) => isJson(v, inner));
}

/** Keep the newest entries (a hit touches its entry, so the table in use stays). */
function removeOldest(dir: string): void {
  const names = readdirSync(dir);
  if (names.length <= MAX_ENTRIES) return;
  const byAge = names
    .map((name) => {
      try {
        return { name, mtimeMs: statSync(join(dir, name)).mtimeMs };
      } catch {
        return { name, mtimeMs: 0 };
      }
    })
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { name } of byAge.slice(MAX_ENTRIES)) rmSync(join(dir, name), { force: true });
}

function touch(path: string): void {
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    // A read-only cache is still read.
  }
}

let yamlPackageVersion: string | undefined;

/** The `yaml` package's version: a new parser may read the same bytes differently. */
function yamlVersion(): string {
  yamlPackageVersion ??= (createRequire(import.meta.url)('yaml/package.json') as { version: string }).version;
  return yamlPackageVersion;
}
