/**
 * `renkei inquiry` on the demo network, as IT staff checking a deployment would run it: 三条市's node
 * asks 新宿区 for the tax item (clause 74, the seeds' 児童手当 example) with the institution's business
 * certificate from the network's data directory; the outcome and the item's fields come back as
 * tables. A refusal names the processing number it was recorded under; a bad argument is refused
 * before anything is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renkei } from '../src/cli/test-support.ts';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import { startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const REQUESTER = '152048'; // 三条市
const PROVIDER = '131041'; // 新宿区
const PROCESSING_NUMBER = /[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/;

let demo: DemoNetwork;
let url: string;

beforeAll(async () => {
  demo = await startDemoNetwork('inquiry-command');
  url = demo.network.institutions.get(REQUESTER)?.url ?? '';
});

afterAll(async () => {
  await demo.dispose();
});

/** `renkei inquiry <args>` against the requester, with the network's data directory. */
const inquiry = (...args: string[]) =>
  renkei('--data-dir', demo.dir, 'inquiry', ...args, '--institution-url', url);

const asking = (addresseeNumber: string, items = '2') => [
  ...['--addressee', addresseeNumber, '--provider', PROVIDER, '--clause', '74'],
  ...['--procedure', '074-01', '--items', items],
];

/** How many exchanges the core has recorded. */
const recorded = async () =>
  (await demo.network.admin().listProvisionRecords({ query: { limit: 1000 } })).records.length;

describe('renkei inquiry', () => {
  it('sends one inquiry, waits for the answer, and shows the outcome and the item’s fields as tables', async () => {
    const person = demo.world.addresseeNumber('yamada-taro', REQUESTER);
    const run = await inquiry('send', ...asking(person));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/│ answered\s+│ provided\s+│ 131041\s+│ 74\s+│ 074-01\s+│ 2\s+│/);
    const item = loadLegalTable().findItem(2);
    expect(run.stdout).toContain(`item 2 ${item?.name ?? '?'} (${item?.nameEn ?? '?'})`);
    // Every field answered is labelled as the layout in force labels it.
    const layout = item?.layouts.at(-1);
    expect(layout?.fields.some((f) => run.stdout.includes(f.label))).toBe(true);
    const processingNumber = PROCESSING_NUMBER.exec(run.stdout)?.[0] ?? '';
    expect(processingNumber).not.toBe('');

    const shown = await inquiry('show', processingNumber);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain(processingNumber);
    expect(shown.stdout).toMatch(/│ answered\s+│ provided\s+│/);
  });

  it('does not wait with --wait 0, and says how to read the answer later', async () => {
    const person = demo.world.addresseeNumber('ito-sakura', REQUESTER);
    const run = await inquiry('send', ...asking(person), '--wait', '0');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/│ pending\s+│/);
    expect(run.stdout).toMatch(/No answer yet\. Read it later: renkei inquiry show [0-9a-f-]{36} /);
  });

  it('names the processing number a refusal is recorded under, and exits 1', async () => {
    const person = demo.world.addresseeNumber('yamada-taro', REQUESTER);
    const run = await inquiry('send', ...asking(person, '31')); // item 31 is not of procedure 074-01
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /^ERR_INQUIRY_NOT_AUTHORIZED: .*recorded as processing number [0-9a-f-]{36}, rule item_/m,
    );
    const processingNumber = PROCESSING_NUMBER.exec(run.stderr)?.[0] ?? '';
    const core = (await demo.network.admin().listProvisionRecords({ query: { limit: 1000 } })).records;
    expect(core.find((r) => r.processingNumber === processingNumber)).toMatchObject({ outcome: 'refused' });
  });

  it('refuses a bad argument or an unknown person before anything is sent, echoing no addressee number', async () => {
    const before = await recorded();
    const person = demo.world.addresseeNumber('yamada-taro', REQUESTER);
    for (const [args, message] of [
      [asking(person, 'two'), '--items two: "two" is not an item number (e.g. 2 or 1,2).'],
      [[...asking(person), '--wait', '90'], '--wait must be a whole number from 0 to 30.'],
      [[...asking(person), '--request-id', 'again'], 'ERR_VALIDATION'],
    ] as const) {
      const run = await inquiry('send', ...args);
      expect(run.status, args.join(' ')).toBe(1);
      expect(run.stderr, args.join(' ')).toContain(message);
    }
    const unknown = 'NO-SUCH-PERSON-4411';
    const run = await inquiry('send', ...asking(unknown));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ERR_UNKNOWN_ADDRESSEE_NUMBER: /);
    expect(run.stderr).not.toContain(unknown);
    expect(await recorded()).toBe(before);
  });
});
