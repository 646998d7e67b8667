/**
 * Bulk inquiries (一括照会) on the demo network: a business system of 三条市 submits many persons for
 * 児童手当 (clause 74) to 新宿区 at once, watches the progress and pages through the results. Each
 * person's inquiry is an exchange like a clerk's: recorded at the three parties, with the access record.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renkei } from '../src/cli/test-support.ts';
import type { BulkInquiryStatus } from '../src/protocol/business.ts';
import { DEMO_RESIDENTS } from '../src/network/world.ts';
import { clause74BulkInquiry, startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const REQUESTER = '152048'; // 三条市
const PROVIDER = '131041'; // 新宿区
const UNKNOWN = '999999999999999';

let demo: DemoNetwork;

beforeAll(async () => {
  demo = await startDemoNetwork('bulk');
});

afterAll(async () => {
  await demo.dispose();
});

/** The residents 三条市 knows, and what 新宿区 holds of each (item 2, the tax certificate). */
function knownAtRequester() {
  return DEMO_RESIDENTS.filter((r) => r.knownAt.includes(REQUESTER)).map((r) => ({
    addresseeNumber: demo.world.addresseeNumber(r.key, REQUESTER),
    expected: r.copies[PROVIDER]?.[2] === undefined ? 'not_held' : 'provided',
  }));
}

async function waitUntilDone(bulkNumber: string): Promise<BulkInquiryStatus> {
  const clerk = demo.network.institution(REQUESTER);
  for (let i = 0; i < 300; i++) {
    const status = await clerk.getBulkInquiry({ params: { bulkNumber } });
    if (status.status === 'done') return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the bulk inquiry did not finish in 30 s');
}

describe('a bulk inquiry', () => {
  it('asks about every person, in order, each recorded as an exchange at the three parties', async () => {
    const known = knownAtRequester();
    expect(known.some((k) => k.expected === 'provided')).toBe(true);
    expect(known.some((k) => k.expected === 'not_held')).toBe(true);
    // 41 persons: the known ones over and over, and one number 三条市 never registered.
    const persons = Array.from({ length: 40 }, (_, i) => known[i % known.length]!);
    const addresseeNumbers = [...persons.map((p) => p.addresseeNumber), UNKNOWN];
    const clerk = demo.network.institution(REQUESTER);
    const accepted = await clerk.submitBulkInquiry(clause74BulkInquiry(addresseeNumbers));
    expect(accepted).toMatchObject({ status: 'running', total: 41, requestedBy: `${REQUESTER}:business` });

    const done = await waitUntilDone(accepted.bulkNumber);
    const provided = persons.filter((p) => p.expected === 'provided').length;
    expect(done).toMatchObject({ status: 'done', total: 41, sent: 41, finished: 41 });
    expect(done.outcomes).toEqual({ provided, not_held: 40 - provided, refused: 0, failed: 1 });

    // Results in pages, in the order submitted.
    const results = [];
    let after: number | undefined;
    do {
      const page = await clerk.getBulkResults({
        params: { bulkNumber: accepted.bulkNumber },
        query: { limit: 16, ...(after === undefined ? {} : { after }) },
      });
      results.push(...page.results);
      after = page.next;
    } while (after !== undefined);
    expect(results.map((r) => r.position)).toEqual(addresseeNumbers.map((_, i) => i));
    expect(results.map((r) => r.addresseeNumber)).toEqual(addresseeNumbers);
    expect(results.map((r) => r.outcome)).toEqual([...persons.map((p) => p.expected), 'failed']);
    expect(results.at(-1)).toMatchObject({ reason: 'ERR_UNKNOWN_ADDRESSEE_NUMBER' });
    expect(results.at(-1)?.processingNumber).toBeUndefined();
    for (const r of results.filter((r) => r.outcome === 'provided')) {
      expect(r.items?.map((i) => i.itemNo)).toEqual([2]);
    }

    // Each sent person is an exchange of its own, at the core and at both institutions.
    const numbers = results.flatMap((r) => (r.processingNumber ? [r.processingNumber] : []));
    expect(new Set(numbers).size).toBe(40);
    const atCore = new Set(
      (await demo.network.admin().listProvisionRecords({ query: { limit: 1000 } })).records.map(
        (r) => r.processingNumber,
      ),
    );
    const atRequester = (await clerk.listProvisionRecords({ query: { role: 'requester', limit: 1000 } }))
      .records;
    const atProvider = new Set(
      (
        await demo.network
          .institution(PROVIDER)
          .listProvisionRecords({ query: { role: 'provider', limit: 1000 } })
      ).records.map((r) => r.processingNumber),
    );
    for (const pn of numbers) {
      expect(atCore.has(pn)).toBe(true);
      expect(atProvider.has(pn)).toBe(true);
      expect(atRequester.find((r) => r.processingNumber === pn)?.requestedBy).toBe(`${REQUESTER}:business`);
    }
  });

  it('sends a few hundred persons in one signed batch, each an exchange recorded at the three parties, with its batch messages found under its own number', async () => {
    const known = knownAtRequester();
    // 300 known persons (provided or not held), and three numbers 三条市 never registered.
    const persons = Array.from({ length: 300 }, (_, i) => known[i % known.length]!);
    const unknown = ['999999999999991', '999999999999992', '999999999999993'];
    const addresseeNumbers = [...persons.map((p) => p.addresseeNumber), ...unknown];
    const clerk = demo.network.institution(REQUESTER);
    const statsBefore = await demo.network.admin().getStatistics({ query: { by: 'procedure' } });
    const coreBefore = statsBefore.total;
    const accepted = await clerk.submitBulkInquiry(clause74BulkInquiry(addresseeNumbers));
    const done = await waitUntilDone(accepted.bulkNumber);
    const provided = persons.filter((p) => p.expected === 'provided').length;
    expect(done.outcomes).toEqual({ provided, not_held: 300 - provided, refused: 0, failed: 3 });

    const results = (
      await clerk.getBulkResults({ params: { bulkNumber: accepted.bulkNumber }, query: { limit: 1000 } })
    ).results;
    expect(results.map((r) => r.outcome)).toEqual([
      ...persons.map((p) => p.expected),
      'failed',
      'failed',
      'failed',
    ]);
    expect(results.slice(300).map((r) => r.reason)).toEqual(
      unknown.map(() => 'ERR_UNKNOWN_ADDRESSEE_NUMBER'),
    );
    const numbers = results.flatMap((r) => (r.processingNumber ? [r.processingNumber] : []));
    expect(new Set(numbers).size).toBe(300);
    for (const r of results.filter((r) => r.outcome === 'provided')) {
      expect(r.items?.map((i) => i.itemNo)).toEqual([2]);
    }

    // Every person an exchange of its own at the core (300 more records) and at both institutions.
    expect((await demo.network.admin().getStatistics({ query: {} })).total).toBe(coreBefore + 300);
    // Provisions are the provided ones only; the not-held answers are counted apart.
    const stats = await demo.network.admin().getStatistics({ query: { by: 'procedure' } });
    expect(stats.provisions).toBe(statsBefore.provisions + provided);
    expect(stats.byOutcome.not_held).toBe((statsBefore.byOutcome.not_held ?? 0) + 300 - provided);
    expect(stats.breakdowns[0]?.rows.find((r) => r.key === '074-01')?.provisions).toBe(stats.provisions);
    const printed = await renkei(
      '--data-dir',
      demo.dir,
      'stats',
      '--core-url',
      demo.network.core.url,
      '--by',
      'procedure',
    );
    expect(printed.stdout).toMatch(new RegExp(`074-01.*児童手当.*${stats.provisions}`));
    const csv = await renkei('--data-dir', demo.dir, 'stats', '--core-url', demo.network.core.url, '--csv');
    expect(csv.stdout.startsWith('\uFEFFbreakdown,key,name,provisions,')).toBe(true);
    expect(csv.stdout).toContain(`\r\ntotal,,,${stats.provisions},`);
    const atCore = new Map(
      (await demo.network.admin().listProvisionRecords({ query: { limit: 1000 } })).records.map((r) => [
        r.processingNumber,
        r,
      ]),
    );
    const atRequester = new Map(
      (await clerk.listProvisionRecords({ query: { role: 'requester', limit: 1000 } })).records.map((r) => [
        r.processingNumber,
        r,
      ]),
    );
    const atProvider = new Map(
      (
        await demo.network
          .institution(PROVIDER)
          .listProvisionRecords({ query: { role: 'provider', limit: 1000 } })
      ).records.map((r) => [r.processingNumber, r]),
    );
    results.slice(0, 300).forEach((r, i) => {
      const pn = r.processingNumber ?? '';
      expect(atCore.get(pn)?.outcome, pn).toBe(persons[i]!.expected);
      expect(atProvider.get(pn)?.outcome, pn).toBe(persons[i]!.expected);
      expect(atRequester.get(pn)).toMatchObject({
        outcome: persons[i]!.expected,
        requestedBy: `${REQUESTER}:business`,
      });
    });

    // `renkei records show` finds a member's exchange in the batch messages each party kept, and
    // every record log still verifies (the commands read the nodes' SQLite files).
    if (demo.postgres) return;
    const member = results.find((r) => r.outcome === 'provided')?.processingNumber ?? '';
    const shown = await renkei('--data-dir', demo.dir, 'records', 'show', member);
    expect(shown.stdout).not.toContain('INVALID');
    expect(shown.stdout).toMatch(/sent\s+│ InquiryBatchRequest\s+│ 152048 → core\s+│ valid/);
    expect(shown.stdout).toMatch(/received\s+│ ProvisionBatchRequest\s+│ core → 131041\s+│ valid/);
    expect(shown.stdout).toMatch(/received\s+│ AnswerBatchDelivery\s+│ core → 152048\s+│ valid/);
    expect(shown.status).toBe(0);
    const verified = await renkei('--data-dir', demo.dir, 'records', 'verify');
    expect(verified.stderr).toBe('');
    expect(verified.status).toBe(0);
  });

  it('refuses an unknown bulk number, and a bulk inquiry naming nobody', async () => {
    const clerk = demo.network.institution(REQUESTER);
    await expect(
      clerk.getBulkInquiry({ params: { bulkNumber: '01900000-0000-7000-8000-000000000000' } }),
    ).rejects.toMatchObject({ code: 'ERR_UNKNOWN_BULK_NUMBER' });
    await expect(clerk.submitBulkInquiry(clause74BulkInquiry([]))).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
  });
});

describe('renkei bulk', () => {
  it('submits a file, shows the outcome and writes one result row per person, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'renkei-bulk-cli-'));
    try {
      const known = knownAtRequester();
      const file = join(dir, 'persons.csv');
      writeFileSync(file, `addresseeNumber\n${known.map((k) => k.addresseeNumber).join('\n')}\n`);
      const out = join(dir, 'results.csv');
      const url = demo.network.institutions.get(REQUESTER)?.url ?? '';
      const args = ['--data-dir', demo.dir, 'bulk', 'submit', '--institution-url', url, '--file', file];
      const run = await renkei(
        ...args,
        ...['--provider', PROVIDER, '--clause', '74', '--procedure', '074-01', '--items', '2', '--out', out],
      );
      expect(run.stderr).not.toMatch(/ERR_/);
      expect(run.status).toBe(0);
      expect(run.stdout).toContain(`${known.length} persons submitted`);
      expect(run.stdout).toMatch(/│ done\s+│/);
      const rows = readFileSync(out, 'utf8').trim().split('\n');
      expect(rows[0]).toBe('position,addresseeNumber,processingNumber,outcome,reason,items');
      expect(rows.slice(1).map((r) => r.split(',')[3])).toEqual(known.map((k) => k.expected));
      expect(rows.slice(1).map((r) => r.split(',')[1])).toEqual(known.map((k) => k.addresseeNumber));

      // A file with a bad line is refused, naming the line, and nothing is submitted.
      const bad = join(dir, 'bad.csv');
      writeFileSync(bad, `${known[0]?.addresseeNumber ?? ''}\n山田 太郎\n`);
      const before = (await demo.network.admin().listProvisionRecords({ query: { limit: 1000 } })).records
        .length;
      const refused = await renkei(
        ...['--data-dir', demo.dir, 'bulk', 'submit', '--institution-url', url, '--file', bad],
        ...['--provider', PROVIDER, '--clause', '74', '--procedure', '074-01', '--items', '2'],
      );
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('1 line without a valid addressee number (line 2); nothing was sent.');
      const after = (await demo.network.admin().listProvisionRecords({ query: { limit: 1000 } })).records
        .length;
      expect(after).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
