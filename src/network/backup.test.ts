/**
 * A node's backup while it writes: another process commits to the node's SQLite database the whole
 * time (as a busy node does, in WAL mode), and every database in the backup holds whole transactions
 * only, passes its integrity check and matches the manifest; nothing is left behind by a refusal.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { backupNode, type BackupManifest } from './backup.ts';
import type { NodeConfig } from './node-config.ts';

const temp = mkdtempSync(join(tmpdir(), 'renkei-backup-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function corporate(dataDir: string): NodeConfig {
  return {
    node: 'corporate',
    dataDir,
    port: 0,
    pki: { dir: join(dataDir, 'pki'), crlUrl: 'http://127.0.0.1:1/pki/v1/crl' },
  };
}

/** A writer in a process of its own: transactions of ten rows, as long as its stdin is open. */
const WRITER = `
const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
const db = new Database(process.argv[1]);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
const insert = db.prepare('INSERT INTO rows (tx, payload) VALUES (?, ?)');
const tx = db.transaction((n) => { for (let i = 0; i < 10; i++) insert.run(n, 'x'.repeat(200)); });
let n = 0, stop = false;
process.stdin.on('end', () => { stop = true; }).resume();
(function loop() {
  if (stop) { db.close(); process.stdout.write(String(n)); return; }
  for (let i = 0; i < 50; i++) tx(n++);
  if (n === 500) process.stderr.write('writing\\n');
  setImmediate(loop);
})();
`;

describe('backupNode', () => {
  it('takes whole transactions only from a database another process writes all along, checked and listed', async () => {
    const dataDir = join(temp, 'busy');
    const nodeDir = join(dataDir, 'corporate');
    mkdirSync(nodeDir, { recursive: true });
    const file = join(nodeDir, 'corporate.sqlite');
    const setup = new Database(file);
    setup.pragma('journal_mode = WAL');
    setup.exec('CREATE TABLE rows (tx INTEGER NOT NULL, payload TEXT NOT NULL)');
    setup.close();
    writeFileSync(join(nodeDir, 'numbering-key'), 'secret', { mode: 0o600 });
    writeFileSync(join(nodeDir, 'corporate.lock'), String(process.pid));

    const writer = spawn(process.execPath, ['-e', WRITER, file], { stdio: ['pipe', 'pipe', 'pipe'] });
    let written = '';
    writer.stdout.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    await new Promise<void>((resolve) => writer.stderr.once('data', () => resolve()));
    const manifests: BackupManifest[] = [];
    try {
      for (let i = 0; i < 3; i++)
        manifests.push(backupNode(corporate(dataDir), join(temp, `copy-${String(i)}`)));
    } finally {
      writer.stdin.end();
      await new Promise((resolve) => writer.once('exit', resolve));
    }
    const transactions = Number(written);
    expect(transactions).toBeGreaterThan(500);

    for (const [i, manifest] of manifests.entries()) {
      const dir = join(temp, `copy-${String(i)}`);
      expect(manifest.node).toBe('corporate');
      // The lock is the running node's, and SQLite's WAL and shared memory are in the snapshot.
      expect(readdirSync(dir).sort()).toEqual(['backup.json', 'corporate.sqlite', 'numbering-key']);
      expect(JSON.parse(readFileSync(join(dir, 'backup.json'), 'utf8'))).toEqual(manifest);
      for (const f of manifest.files) {
        const bytes = readFileSync(join(dir, f.path));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
        expect(bytes.length).toBe(f.bytes);
      }
      expect(statSync(join(dir, 'numbering-key')).mode & 0o777).toBe(0o600);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      const copy = new Database(join(dir, 'corporate.sqlite'), { readonly: true });
      try {
        expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
        const { rows, txs, partial } = copy
          .prepare(
            `SELECT count(*) AS rows, count(DISTINCT tx) AS txs,
               (SELECT count(*) FROM (SELECT tx FROM rows GROUP BY tx HAVING count(*) <> 10)) AS partial
             FROM rows`,
          )
          .get() as { rows: number; txs: number; partial: number };
        expect(partial).toBe(0);
        expect(rows).toBe(txs * 10);
        expect(txs).toBeGreaterThan(0);
        expect(txs).toBeLessThanOrEqual(transactions);
      } finally {
        copy.close();
      }
    }
  });

  it('refuses a backup directory that exists, a node that never ran, and a backup inside the node, leaving nothing', () => {
    const dataDir = join(temp, 'refusals');
    const taken = join(temp, 'taken');
    mkdirSync(taken);
    const config = corporate(dataDir);
    expect(() => backupNode(config, join(temp, 'never'))).toThrow(/never run there/);
    mkdirSync(join(dataDir, 'corporate'), { recursive: true });
    writeFileSync(join(dataDir, 'corporate', 'numbering-key'), 'secret', { mode: 0o600 });
    expect(() => backupNode(config, taken)).toThrow(/exists already/);
    expect(readdirSync(taken)).toEqual([]);
    expect(() => backupNode(config, join(dataDir, 'corporate', 'inside'))).toThrow(/inside the node/);
    expect(existsSync(join(dataDir, 'corporate', 'inside'))).toBe(false);
    expect(readdirSync(temp).filter((name) => name.includes('.partial-'))).toEqual([]);
  });

  it('names the PostgreSQL schemas pg_dump takes, and still snapshots the SQLite files a node keeps there', () => {
    const dataDir = join(temp, 'postgres');
    const nodeDir = join(dataDir, 'institutions', '152048');
    mkdirSync(nodeDir, { recursive: true });
    const archive = new Database(join(nodeDir, 'messages.sqlite'));
    archive.exec('CREATE TABLE messages (id INTEGER)');
    archive.close();
    const manifest = backupNode(
      {
        node: 'institution',
        dataDir,
        port: 0,
        database: { url: 'postgres://renkei@db.example:5432/renkei', schemaPrefix: 'prod_' },
        pki: { dir: join(dataDir, 'pki'), crlUrl: 'http://127.0.0.1:1/pki/v1/crl' },
        institution: { id: '152048', kind: 'municipality' },
        coreUrl: 'https://127.0.0.1:1',
        jlisUrl: 'https://127.0.0.1:2',
      },
      join(temp, 'postgres-copy'),
    );
    expect(manifest.node).toBe('institution:152048');
    expect(manifest.postgresSchemas).toEqual(['prod_i_152048_addressee', 'prod_i_152048_intermediate']);
    expect(manifest.files.map((f) => [f.path, f.kind])).toEqual([['messages.sqlite', 'database']]);
  });
});
