/**
 * A running node's backup (`renkei backup <kind> --config <file> --to <dir>`): what an operator takes
 * before an upgrade (README "Deploying", "Upgrading") and every night, without stopping the node.
 *
 * What it copies is the node's own directory under its `dataDir` (`core/`, `jlis/`,
 * `institutions/<id>/`, `corporate/`, `portal/`): each SQLite database with `VACUUM INTO`, which reads
 * one snapshot of the file in a single read transaction while the node goes on writing in WAL mode
 * (we considered SQLite's online backup API, better-sqlite3's `backup()`, but it starts again from
 * the first page whenever another connection writes, so a busy node's backup might never end); every
 * other file as it is (the core's master keys, J-LIS's numbering key and its JPKI CAs, the CRL it
 * fetched), with its mode. Not the WAL and shared-memory files (the snapshot holds what they held),
 * the node's lock or its logs. Each copy is checked (`PRAGMA quick_check`) and listed in
 * `backup.json` with its size and SHA-256. Each database is one consistent snapshot; a node's
 * several databases are taken one after another, as a crash would leave them, which every node
 * already recovers from (its records and intents are written before what depends on them).
 *
 * Nothing half-written: everything goes to `<dir>.partial-<pid>` first, renamed to `<dir>` at the
 * end; a failure removes it. The backup holds keys: its directory is 0700 and its key files keep
 * their 0600.
 *
 * On PostgreSQL the node's databases are schemas of the server's, which pg_dump takes (`backup.json`
 * and the command name them); this takes its files, the message archive and the security log (SQLite
 * files on either) among them.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  openSync,
  readSync,
  closeSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { schemaName } from '../shared/db.ts';
import { RenkeiError, storageFull } from '../shared/errors.ts';
import type { NodeConfig } from './node-config.ts';

/** One file of a backup, as `backup.json` lists it. */
export interface BackedUpFile {
  /** Its path under the node's directory (and the backup's). */
  path: string;
  kind: 'database' | 'file';
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  version: 1;
  node: string;
  /** The node's directory the files came from, relative to its `dataDir`. */
  nodeDir: string;
  createdAt: string;
  files: BackedUpFile[];
  /** PostgreSQL: the schemas to take with pg_dump; none on SQLite. */
  postgresSchemas: string[];
}

/** The node's own directory under its `dataDir`, relative to it. */
export function nodeDirOf(config: NodeConfig): string {
  switch (config.node) {
    case 'core':
    case 'jlis':
    case 'corporate':
    case 'portal':
      return config.node;
    case 'institution':
      return join('institutions', config.institution.id);
  }
}

/** Files the node keeps that a backup leaves out: SQLite's WAL and shared memory, its lock. */
const LEFT_OUT = [/-wal$/, /-shm$/, /-journal$/, /\.lock$/];

/**
 * Back up the node of `config` into `to` (which must not exist yet), while it runs. Returns the
 * manifest written there. Errors: ERR_VALIDATION (`to` exists, or the node has no directory yet: it
 * never ran), ERR_DATABASE_BUSY (a database locked past the wait), ERR_STORAGE_FULL.
 */
export function backupNode(
  config: NodeConfig,
  to: string,
  options: { now?: Date; onFile?: (file: BackedUpFile) => void } = {},
): BackupManifest {
  const nodeDir = nodeDirOf(config);
  const source = resolve(config.dataDir, nodeDir);
  const target = resolve(to);
  if (existsSync(target)) {
    throw new RenkeiError('ERR_VALIDATION', 'The backup directory exists already: give a new one.', {
      field: 'to',
    });
  }
  if (!existsSync(source)) {
    throw new RenkeiError(
      'ERR_VALIDATION',
      `The node has no directory under its dataDir yet (${nodeDir}): it has never run there, so there is nothing to back up.`,
      { field: 'dataDir' },
    );
  }
  if (target === source || target.startsWith(`${source}/`)) {
    throw new RenkeiError('ERR_VALIDATION', 'The backup cannot go inside the node’s own directory.', {
      field: 'to',
    });
  }
  const partial = `${target}.partial-${String(process.pid)}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(dirname(target), { recursive: true });
  mkdirSync(partial, { mode: 0o700 });
  chmodSync(partial, 0o700);
  try {
    const files: BackedUpFile[] = [];
    for (const path of walk(source)) {
      const name = relative(source, path);
      if (LEFT_OUT.some((pattern) => pattern.test(name))) continue;
      const copy = join(partial, name);
      mkdirSync(dirname(copy), { recursive: true, mode: 0o700 });
      // The message archive and the security log stay SQLite files on PostgreSQL too.
      const database = name.endsWith('.sqlite');
      if (database) snapshot(path, copy);
      else copyFileSync(path, copy);
      chmodSync(copy, statSync(path).mode & 0o777);
      const file: BackedUpFile = { path: name, kind: database ? 'database' : 'file', ...digestOf(copy) };
      files.push(file);
      options.onFile?.(file);
    }
    const manifest: BackupManifest = {
      version: 1,
      node: config.node === 'institution' ? `institution:${config.institution.id}` : config.node,
      nodeDir,
      createdAt: (options.now ?? new Date()).toISOString(),
      files,
      postgresSchemas: postgresSchemasOf(config),
    };
    writeFileSync(join(partial, 'backup.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    renameSync(partial, target);
    return manifest;
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    // Whichever step met it (a snapshot, a copy, the manifest): the disk the backup goes to is full.
    if (storageFull(error)) {
      throw new RenkeiError('ERR_STORAGE_FULL', 'The backup’s disk is full: nothing was kept.');
    }
    throw error;
  }
}

/**
 * A copy's size and SHA-256, read in chunks: a database of a whole population runs to gigabytes,
 * past what one buffer holds (readFileSync refuses files over 2 GiB).
 */
function digestOf(file: string): { bytes: number; sha256: string } {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(file, 'r');
  let bytes = 0;
  try {
    for (let read; (read = readSync(fd, chunk, 0, chunk.length, null)) > 0; bytes += read) {
      hash.update(chunk.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** One consistent snapshot of a live SQLite database, checked. */
function snapshot(file: string, copy: string): void {
  const source = new Database(file, { readonly: true, fileMustExist: true });
  try {
    source.pragma('busy_timeout = 10000');
    source.prepare('VACUUM INTO ?').run(copy);
  } catch (error) {
    throw sqliteError(error, file);
  } finally {
    source.close();
  }
  const check = new Database(copy, { readonly: true, fileMustExist: true });
  try {
    const result = check.pragma('quick_check', { simple: true });
    if (result !== 'ok') {
      throw new RenkeiError(
        'ERR_INTERNAL',
        'A database’s copy failed its integrity check: nothing was kept.',
      );
    }
  } finally {
    check.close();
  }
}

function sqliteError(error: unknown, file: string): unknown {
  const code = (error as { code?: string }).code;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new RenkeiError(
      'ERR_DATABASE_BUSY',
      'A database of the node stayed locked past the wait: try again.',
      { database: file.split('/').at(-1) ?? '' },
    );
  }
  return error;
}

/** Every file under `dir`, depth first, in name order. */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** The node's PostgreSQL schemas, as its start names them (`nodeDatabase`), for pg_dump; none on SQLite. */
function postgresSchemasOf(config: NodeConfig): string[] {
  if (config.database === undefined) return [];
  const prefix = typeof config.database === 'string' ? '' : (config.database.schemaPrefix ?? '');
  const parts: string[][] =
    config.node === 'institution'
      ? [
          ['i', config.institution.id, 'addressee'],
          ['i', config.institution.id, 'intermediate'],
        ]
      : [[config.node]];
  return parts.map((p) => `${prefix}${schemaName(...p)}`);
}
