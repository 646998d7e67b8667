/**
 * Login with the card, the portal's side, against J-LIS's real JPKI CA and OCSP responder (real
 * SQLite, real HTTP) and the portal's real store: a card's signature over its challenge logs the
 * person in; a wrong signature, another card's certificate, a revoked certificate, another CA's
 * certificate, an expired or replayed challenge and a login finished in another browser are refused,
 * each recorded as a security event.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTHENTICATION_CERTIFICATE_POLICY,
  loginMessage,
  type LoginChallenge,
} from '../../protocol/portal.ts';
import { fixedClock } from '../../shared/clock.ts';
import { nodeDatabase, openDatabase } from '../../shared/db.ts';
import { silentLogger } from '../../shared/logger.ts';
import { openSecurityLog, type SecurityLog } from '../../shared/security-log.ts';
import { dropTestSchemas, testPostgres } from '../../shared/test-databases.ts';
import { signer } from '../jlis/jpki/test-support.ts';
import {
  JPKI_AUTHENTICATION_POLICY,
  startTestJpki,
  type TestCardHolder,
  type TestJpki,
} from '../jlis/test-support.ts';
import { createKyselyPortalStore, type PortalDatabase } from './kysely-store.ts';
import { KyselyPortalRecordLog } from './record-log-store.ts';
import { migratePortalDatabase } from './migrations.ts';
import { readJpkiTrust, type JpkiTrust } from './service/jpki-verifier.ts';
import { LoginService, type PersonDirectory } from './service/login.ts';
import type { PortalStore } from './store.ts';

const ORIGIN = 'https://portal.test';
const dir = mkdtempSync(join(tmpdir(), 'renkei-portal-login-'));
const clock = fixedClock(new Date());
const postgres = testPostgres();
let jpki: TestJpki;
let portalDb: Kysely<PortalDatabase>;
let trust: JpkiTrust;
let store: PortalStore;
let securityLog: SecurityLog;
let login: LoginService;

let hanako: TestCardHolder;
let taro: TestCardHolder;
let lost: TestCardHolder;
let foreignCard: TestCardHolder;

/**
 * The portal's persons by serial: here a fixed mapping to a fresh id per serial (the real one asks
 * J-LIS for the portal's code: test/portal.test.ts).
 */
const persons: PersonDirectory & { serialOf: Map<string, string> } = {
  serialOf: new Map(),
  personFor(serial) {
    const known = [...persons.serialOf].find(([, s]) => s === serial)?.[0];
    if (known !== undefined) return Promise.resolve(known);
    const id = randomUUID();
    persons.serialOf.set(id, serial);
    return Promise.resolve(id);
  },
};

beforeAll(async () => {
  // J-LIS's JPKI, through its test support: the portal's tests reach no J-LIS module directly.
  jpki = await startTestJpki(dir);
  hanako = await jpki.issueCard('card-hanako', '霞 花子');
  taro = await jpki.issueCard('card-taro', '霞 太郎');
  lost = await jpki.issueCard('card-lost', '霞 次郎');
  await jpki.revokeCard(lost.cardId);
  // Another JPKI hierarchy altogether, with the same names: its certificates must not log in.
  const foreign = await startTestJpki(join(dir, 'foreign'));
  foreignCard = await foreign.issueCard('card-foreign', '偽 花子');
  await foreign.close();

  const bundle = await (await fetch(`${jpki.publicationUrl}/jpki/v1/ca-bundle.pem`)).text();
  trust = await readJpkiTrust(bundle, `${jpki.publicationUrl}/jpki/v1/ocsp`);

  portalDb = await openDatabase<PortalDatabase>(nodeDatabase(postgres, join(dir, 'portal.sqlite'), 'portal'));
  await migratePortalDatabase(portalDb);
  store = createKyselyPortalStore(
    portalDb,
    new KyselyPortalRecordLog(portalDb as unknown as Kysely<unknown>),
  );
  securityLog = await openSecurityLog(join(dir, 'security.sqlite'));
  login = new LoginService({
    store,
    clock,
    logger: silentLogger(),
    origin: () => ORIGIN,
    trust,
    persons,
    record: (event) => securityLog.record(event),
  });
});

afterAll(async () => {
  await jpki.close();
  await securityLog.close();
  await portalDb.destroy();
  await dropTestSchemas(postgres);
  rmSync(dir, { recursive: true, force: true });
});

const sign = (card: TestCardHolder, challenge: LoginChallenge) =>
  signer(card.keys.authentication.privateKey)(loginMessage(challenge));

/** The newest security event: what the last refusal recorded. */
async function lastEvent() {
  const [event] = await securityLog.list(1);
  return event;
}

async function expectRefused(attempt: Promise<unknown>, code: string): Promise<void> {
  const before = (await securityLog.list(1000)).length;
  await expect(attempt).rejects.toMatchObject({ code });
  expect((await securityLog.list(1000)).length).toBe(before + 1);
  expect(await lastEvent()).toMatchObject({ route: 'portal.login', code, partyId: null });
}

describe('login with the card', () => {
  it('logs in the holder of a card that signed its challenge, in the browser that asked', async () => {
    const { challenge, binding } = await login.issue();
    expect(challenge.origin).toBe(ORIGIN);
    expect(Date.parse(challenge.expiresAt) - clock.now().getTime()).toBe(5 * 60_000);
    await login.answer({
      nonce: challenge.nonce,
      certificate: hanako.certificateDer,
      signature: await sign(hanako, challenge),
      remoteAddress: '127.0.0.1',
    });
    const personId = await login.finish({ nonce: challenge.nonce, binding, remoteAddress: '127.0.0.1' });
    // The person is known by the certificate's serial, as J-LIS issued it.
    const serial = persons.serialOf.get(personId) ?? '';
    expect(await jpki.cardOf(serial)).toBe(hanako.cardId);
  });

  it('refuses a wrong signature (the card signed something else)', async () => {
    const { challenge } = await login.issue();
    const other = { ...challenge, nonce: 'A'.repeat(43) };
    await expectRefused(
      login.answer({
        nonce: challenge.nonce,
        certificate: hanako.certificateDer,
        signature: await sign(hanako, other),
        remoteAddress: null,
      }),
      'ERR_SIGNATURE_INVALID',
    );
  });

  it('refuses another card’s certificate presented with this card’s signature', async () => {
    const { challenge } = await login.issue();
    await expectRefused(
      login.answer({
        nonce: challenge.nonce,
        certificate: taro.certificateDer,
        signature: await sign(hanako, challenge),
        remoteAddress: null,
      }),
      'ERR_SIGNATURE_INVALID',
    );
  });

  it('refuses a revoked certificate (a card reported lost), asking J-LIS’s OCSP responder', async () => {
    const { challenge } = await login.issue();
    await expectRefused(
      login.answer({
        nonce: challenge.nonce,
        certificate: lost.certificateDer,
        signature: await sign(lost, challenge),
        remoteAddress: null,
      }),
      'ERR_CERT_REVOKED',
    );
  });

  it('refuses a certificate of another certification authority', async () => {
    const { challenge } = await login.issue();
    await expectRefused(
      login.answer({
        nonce: challenge.nonce,
        certificate: foreignCard.certificateDer,
        signature: await sign(foreignCard, challenge),
        remoteAddress: null,
      }),
      'ERR_CERT_UNTRUSTED',
    );
  });

  it('refuses an expired challenge, even with a good signature', async () => {
    const { challenge } = await login.issue();
    const signature = await sign(hanako, challenge);
    clock.advance(5 * 60_000 + 1);
    try {
      await expectRefused(
        login.answer({
          nonce: challenge.nonce,
          certificate: hanako.certificateDer,
          signature,
          remoteAddress: null,
        }),
        'ERR_MESSAGE_STALE',
      );
    } finally {
      clock.set(new Date());
    }
  });

  it('refuses a replayed answer: a challenge is answered once', async () => {
    const { challenge } = await login.issue();
    const answer = {
      nonce: challenge.nonce,
      certificate: hanako.certificateDer,
      signature: await sign(hanako, challenge),
      remoteAddress: null,
    };
    await login.answer(answer);
    await expectRefused(login.answer(answer), 'ERR_MESSAGE_REPLAYED');
  });

  it('refuses a challenge it never issued', async () => {
    const challenge = { origin: ORIGIN, nonce: 'B'.repeat(43), expiresAt: clock.now().toISOString() };
    await expectRefused(
      login.answer({
        nonce: challenge.nonce,
        certificate: hanako.certificateDer,
        signature: await sign(hanako, challenge),
        remoteAddress: null,
      }),
      'ERR_MESSAGE_STALE',
    );
  });

  it('refuses to finish a login in another browser than the one that began it (login CSRF)', async () => {
    const { challenge, binding } = await login.issue();
    await login.answer({
      nonce: challenge.nonce,
      certificate: hanako.certificateDer,
      signature: await sign(hanako, challenge),
      remoteAddress: null,
    });
    await expectRefused(
      login.finish({ nonce: challenge.nonce, binding: 'x'.repeat(43), remoteAddress: null }),
      'ERR_IDENTITY_MISMATCH',
    );
    await expectRefused(
      login.finish({ nonce: challenge.nonce, binding: undefined, remoteAddress: null }),
      'ERR_IDENTITY_MISMATCH',
    );
    // The right browser may still finish it, once.
    const personId = await login.finish({ nonce: challenge.nonce, binding, remoteAddress: null });
    expect(persons.serialOf.has(personId)).toBe(true);
    await expectRefused(
      login.finish({ nonce: challenge.nonce, binding, remoteAddress: null }),
      'ERR_MESSAGE_REPLAYED',
    );
  });

  it('refuses to finish a login the card never answered', async () => {
    const { challenge, binding } = await login.issue();
    await expectRefused(
      login.finish({ nonce: challenge.nonce, binding, remoteAddress: null }),
      'ERR_MESSAGE_REPLAYED',
    );
  });

  it('checks the user-authentication policy J-LIS’s CA writes', () => {
    expect(AUTHENTICATION_CERTIFICATE_POLICY).toBe(JPKI_AUTHENTICATION_POLICY);
  });
});
