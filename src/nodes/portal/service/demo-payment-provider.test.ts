import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixedClock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import { DemoPaymentProvider } from './demo-payment-provider.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'renkei-demo-pay-'));
  dirs.push(dir);
  const settled: string[] = [];
  const clock = fixedClock('2026-11-27T10:00:00Z');
  const provider = () =>
    new DemoPaymentProvider({
      clock,
      file: join(dir, 'demo-checkouts.json'),
      settle: (input) => {
        if (settled.includes(input.noticeId)) {
          return Promise.reject(new RenkeiError('ERR_ALREADY_PAID', 'paid already'));
        }
        settled.push(input.noticeId);
        return Promise.resolve();
      },
    });
  return { dir, settled, provider, advance: (ms: number) => clock.advance(ms) };
}

const bill = {
  personId: 'p-1',
  noticeId: '0190f5a2-0000-7000-8000-000000000001',
  amount: 12_300,
  payee: '三条市',
  dueDate: '2026-12-25',
  reference: 'TAX-1',
};

describe('the demo payment provider', () => {
  it('keeps its checkouts across a restart, and a paid one stays paid', async () => {
    const f = fixture();
    const { url } = await f.provider().createCheckout(bill);
    const id = url.split('/').at(-1) ?? '';
    // A new process over the same file: the resident's checkout is still there, and can be paid.
    const restarted = f.provider();
    const open = restarted.get(id);
    expect(open).toMatchObject({ state: 'open', amount: 12_300, noticeId: bill.noticeId });
    expect((await restarted.confirm(id, open.formToken)).state).toBe('paid');
    const again = f.provider().get(id);
    expect(again.state).toBe('paid');
    expect(again.receipt).toMatch(/^DEMO-/);
    expect(f.settled).toEqual([bill.noticeId]);
    expect(statSync(join(f.dir, 'demo-checkouts.json')).mode & 0o777).toBe(0o600);
  });

  it('forgets an expired checkout at the restart, and refuses another form token', async () => {
    const f = fixture();
    const { url } = await f.provider().createCheckout(bill);
    const id = url.split('/').at(-1) ?? '';
    await expect(f.provider().confirm(id, 'not-the-token')).rejects.toMatchObject({
      code: 'ERR_CALLER_NOT_ALLOWED',
    });
    f.advance(16 * 60_000);
    expect(() => f.provider().get(id)).toThrow(expect.objectContaining({ code: 'ERR_ROUTE_NOT_FOUND' }));
  });
});
