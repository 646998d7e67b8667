/**
 * The core never sees a resident's data. The secured demo network runs with its core in an OS process
 * of its own (test/support/core-process.ts, logging at `trace`); the demo exchanges that provide items
 * run with their requesters unreachable, so the answers sit at the core; mid-exchange the core writes
 * a heap snapshot (SIGUSR2). Then the core's database files (with their -wal), its log and the heap
 * snapshot are searched for the answered items' values, and none is found. The same search finds
 * every value in the providers' databases, so it can fail.
 *
 * The demo copies are the layouts' examples, which the core does hold, as the legal table it checks
 * inquiries against: public, and indistinguishable from a resident's value. So before the exchanges
 * each asked copy is registered again with values of its own (long numbers, a string where the layout
 * allows one), and those are what is searched for.
 */
import { logFiles, readLog } from '../src/shared/logger.ts';
import { readFileSync, readdirSync, rmSync, mkdtempSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import type { LayoutVersion } from '../src/domain/legal-table/types.ts';
import type { Network } from '../src/network/launch.ts';
import { DEMO_SCENARIOS } from '../src/network/scenarios.ts';
import type { SeededWorld } from '../src/network/seed.ts';
import { spawnCore, type SpawnedCore } from './support/core-process.ts';
import { startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const NOWHERE = 'https://127.0.0.1:1';
const PROVIDING = DEMO_SCENARIOS.filter((s) => s.expect.outcome === 'provided');

const snapshots = mkdtempSync(join(tmpdir(), 'renkei-heap-'));
let demo: DemoNetwork | undefined;
let dir: string;
let network: Network;
let world: SeededWorld;
let core: SpawnedCore | undefined;

beforeAll(async () => {
  demo = await startDemoNetwork('privacy', {
    secure: true,
    startCore: async (options) => (core = await spawnCore(snapshots)(options)),
  });
  ({ dir, network, world } = demo);
}, 90_000);

afterAll(async () => {
  await demo?.dispose();
  rmSync(snapshots, { recursive: true, force: true });
});

/** One searched value: where the provider holds it, and the text it is searched as. */
interface Needle {
  providerId: string;
  /** A string value as it is, or a number as it stands in JSON (`"field":123`). */
  text: string;
}

/** Values of the copy's own for a layout: long numbers and strings; short or enumerated fields keep the example. */
function distinctValues(
  layout: LayoutVersion,
  seed: number,
): { data: Record<string, unknown>; texts: string[] } {
  const data: Record<string, unknown> = { ...layout.example };
  const texts: string[] = [];
  layout.fields.forEach((field, k) => {
    if (field.type === 'integer' && (field.max === undefined || field.max >= 10_000_000)) {
      const value = Math.max(field.min ?? 0, 7_000_000 + seed * 7_919 + k * 104_729);
      data[field.name] = value;
      texts.push(`"${field.name}":${value}`);
    } else if (field.type === 'string' && (field.maxLength === undefined || field.maxLength >= 8)) {
      // Katakana by seed: non-ASCII, so the snapshot's \uXXXX form is exercised.
      const value = `秘${String.fromCharCode(0x30a2 + seed, 0x30a2 + k, 0x30ab + seed, 0x30ab + k)}値`;
      data[field.name] = value;
      texts.push(value);
    }
  });
  return { data, texts };
}

/** A value's forms: raw UTF-8, and as a JSON string's content with \uXXXX escapes (V8 writes upper case). */
function forms(text: string): Buffer[] {
  const escaped = (upper: boolean) =>
    text
      .replace(/\\/g, '\\\\')
      .replace(/"/g, '\\"')
      .replace(/[^\x20-\x7e]/g, (c) => {
        const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
        return `\\u${upper ? hex.toUpperCase() : hex}`;
      });
  return [...new Set([text, escaped(true), escaped(false)])].map((f) => Buffer.from(f, 'utf8'));
}

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => filesUnder(join(path, name)));
}

/** Which of the files hold which of the texts, in any form. */
function found(files: string[], texts: string[]): string[] {
  const hits: string[] = [];
  for (const file of files) {
    const bytes = readFileSync(file);
    for (const text of texts) {
      if (forms(text).some((form) => bytes.includes(form))) hits.push(`${text} in ${file}`);
    }
  }
  return hits;
}

async function settledAtCore(count: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const { records } = await network.admin().listProvisionRecords({ query: { limit: 100 } });
    const answered = records.filter((r) => r.outcome === 'provided');
    if (answered.length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { records } = await network.admin().listProvisionRecords({ query: { limit: 100 } });
  throw new Error(
    `the core never recorded the answers: ${JSON.stringify(records.map((r) => [r.outcome, r.reason]))}`,
  );
}

async function heapSnapshot(pid: number): Promise<string> {
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const file = readdirSync(snapshots).find((name) => name.endsWith('.heapsnapshot'));
    if (file === undefined) continue;
    const path = join(snapshots, file);
    const text = readFileSync(path);
    if (text.subarray(-2).toString() === ']}') return path;
  }
  throw new Error('no heap snapshot');
}

describe('what the core holds of an exchange', () => {
  it("never holds the items' values: not in its database, its log or its heap mid-exchange", async () => {
    const legalTable = loadLegalTable();
    const needles: Needle[] = [];
    let seed = 0;
    for (const scenario of PROVIDING) {
      for (const resident of scenario.residents) {
        for (const itemNo of scenario.itemNos) {
          const layout = legalTable.layoutFor(itemNo, new Date());
          if (!layout) throw new Error(`no layout for item ${itemNo}`);
          const { data, texts } = distinctValues(layout, ++seed);
          await network.institution(scenario.providerId).putCopy({
            body: { addresseeNumber: world.addresseeNumber(resident, scenario.providerId), itemNo, data },
          });
          needles.push(...texts.map((text) => ({ providerId: scenario.providerId, text })));
        }
      }
    }
    expect(needles.length).toBeGreaterThan(10);
    expect(needles.some((n) => /[^\x20-\x7e]/.test(n.text))).toBe(true);

    // Each requester unreachable to the core: the answers stay there, sealed, pending delivery. One
    // scenario at a time, answered before the next: 日本年金機構 provides in (c) and asks in (d).
    const admin = network.admin();
    let asked = 0;
    for (const scenario of PROVIDING) {
      const current = await admin.getInstitution({ params: { id: scenario.requesterId } });
      await admin.registerInstitution({
        params: { id: scenario.requesterId },
        body: { name: current.name, nameEn: current.nameEn, kind: current.kind, networkUrl: NOWHERE },
      });
      for (const resident of scenario.residents) {
        await network.institution(scenario.requesterId).inquire({
          body: {
            addresseeNumber: world.addresseeNumber(resident, scenario.requesterId),
            providerId: scenario.providerId,
            clauseNo: scenario.clauseNo,
            procedureId: scenario.procedureId,
            itemNos: scenario.itemNos,
          },
        });
        asked++;
      }
      await settledAtCore(asked);
    }
    if (!core) throw new Error('the core was not spawned');
    const snapshot = await heapSnapshot(core.pid);
    // Mid-exchange indeed: every answer is at the core, sealed, waiting for its requester.
    const db = new Database(join(dir, 'core', 'core.sqlite'), { readonly: true, fileMustExist: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM kept_answers').get()).toEqual({ n: asked });
    } finally {
      db.close();
    }

    const coreFiles = () => [...filesUnder(join(dir, 'core')), ...logFiles(join(dir, 'logs', 'core.log'))];
    const texts = needles.map((n) => n.text);
    // Mid-exchange: the databases with their write-ahead logs as they are, and the heap.
    expect(coreFiles().some((f) => f.endsWith('-wal'))).toBe(true);
    expect(found([...coreFiles(), snapshot], texts)).toEqual([]);
    // The snapshot is searchable in both forms: the core does hold the legal table's words.
    expect(found([snapshot], [legalTable.findItem(2)?.name ?? '地方税関係情報'])).toHaveLength(1);

    // And once stopped, with its log flushed at the most verbose level.
    await core.close();
    const log = readLog(join(dir, 'logs', 'core.log'));
    expect(log).toMatch(/"level":20,/); // debug lines: the level is below info
    expect(log).toContain('"processingNumber"'); // and the exchanges are in it
    expect(found(coreFiles(), texts)).toEqual([]);

    // The same search finds every value where it belongs: at the provider.
    for (const needle of needles) {
      const providerFiles = filesUnder(join(dir, 'institutions', needle.providerId)).filter((f) =>
        f.includes('intermediate.sqlite'),
      );
      expect(found(providerFiles, [needle.text]), needle.text).not.toEqual([]);
    }
  }, 60_000);
});
