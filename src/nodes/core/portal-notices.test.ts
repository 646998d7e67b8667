/**
 * Institutions' notices to residents at the core (service/portal-notices.ts): the sender's code
 * converted into the portal's, the notice relayed as sealed, held for a person the portal holds no
 * code for until it is issued one, a code not the sender's refused. Stand-ins play the municipality
 * and the portal.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  startTwoMunicipalities,
  type StandIn,
  type TestCore,
  type TwoMunicipalities,
} from './test-support.ts';

const RESIDENT = '12345678901';
const SEALED = 'aGVhZGVy..aXY.c2VhbGVkLXRvLXRoZS1wb3J0YWw.dGFn';

let net: TwoMunicipalities<'portal'>;
let core: TestCore;
let city: StandIn; // 131016 (the network's x; its a, 132012, plays no part here)
let portal: StandIn;

beforeEach(async () => {
  net = await startTwoMunicipalities({
    deliveryRetryDelaysMs: [20, 40, 80],
    maxRetryDelayMs: 200,
    codes: 'none',
    others: { portal: { id: 'portal', kind: 'portal' } },
  });
  ({ core, x: city } = net);
  ({ portal } = net.others);
});

afterEach(() => net.dispose());

const submit = (noticeId: string, personCode: string, senderId = '131016') =>
  core.call('POST', '/v1/portal-notices', { senderId, noticeId, personCode, sealed: SEALED });

describe('notices to residents at the portal', () => {
  it('relays a notice under the portal’s own code, the sender named by the registry, once per id', async () => {
    const cityCode = await core.issue({ id: '131016', standIn: city }, RESIDENT);
    const portalCode = await core.issue({ id: 'portal', standIn: portal }, RESIDENT);
    const noticeId = randomUUID();
    const first = await submit(noticeId, cityCode);
    expect(first.status).toBe(202);
    expect(first.body.noticeId).toBe(noticeId);
    await core.core.services.portalNotices.whenDelivered();
    expect(portal.portalNotices).toEqual([
      {
        noticeId,
        senderId: '131016',
        senderName: '131016',
        personCode: portalCode,
        sentAt: first.body.receivedAt,
        sealed: SEALED,
      },
    ]);
    expect(await submit(noticeId, cityCode)).toEqual(first);
    await core.core.services.portalNotices.whenDelivered();
    expect(portal.portalNotices).toHaveLength(1);
    // No code is ever stored (the person is a resident key). The ciphertext's column is emptied once
    // delivered, but SQLite's file may keep the old page's bytes a while: sealed to the portal, they say
    // nothing to whoever reads the file (test/portal-notices.test.ts searches for the plain text).
    const text = await core.databaseText();
    expect(text).not.toContain(cityCode);
    expect(text).not.toContain(portalCode);
  });

  it('holds the notice of a person the portal holds no code for, and delivers it when the portal is issued one', async () => {
    const cityCode = await core.issue({ id: '131016', standIn: city }, RESIDENT);
    const noticeId = randomUUID();
    expect((await submit(noticeId, cityCode)).status).toBe(202);
    await core.core.services.portalNotices.whenDelivered();
    expect(portal.portalNotices).toEqual([]);
    const portalCode = await core.issue({ id: 'portal', standIn: portal }, RESIDENT);
    await core.core.services.portalNotices.whenDelivered();
    expect(portal.portalNotices.map((n) => [n.noticeId, n.personCode])).toEqual([[noticeId, portalCode]]);
  });

  it('refuses a code that is not the sender’s, and a notice id already used for another person', async () => {
    const cityCode = await core.issue({ id: '131016', standIn: city }, RESIDENT);
    const portalCode = await core.issue({ id: 'portal', standIn: portal }, RESIDENT);
    const otherCode = await core.issue({ id: '131016', standIn: city }, '98765432109');
    const refused = await submit(randomUUID(), portalCode);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ error: { code: 'ERR_UNKNOWN_PERSON_CODE' } });
    const noticeId = randomUUID();
    expect((await submit(noticeId, cityCode)).status).toBe(202);
    const reused = await submit(noticeId, otherCode);
    expect(reused.status).toBe(409);
    expect(reused.body).toMatchObject({ error: { code: 'ERR_DUPLICATE' } });
  });
});
