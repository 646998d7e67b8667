/**
 * A party issued new certificates (`renkei pki issue` again: renewal before expiry, or a new key)
 * still opens what was sealed to its earlier encryption certificate: an inquiry names the certificate
 * it was sent with, the provider seals the items to that one, and the core keeps an undelivered
 * answer for 7 days. A real PKI in a temp directory, the real sealer on both sides, real archives.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createItemSealer } from '../src/protocol/item-sealing.ts';
import { loadNodeTrust, type NodeTrust } from '../src/protocol/node-trust.ts';
import { systemClock } from '../src/shared/clock.ts';
import { openMessageArchive, type MessageArchive } from '../src/shared/message-archive.ts';
import { messageHash } from '../src/trust/envelope/message-hash.ts';
import { signMessage } from '../src/trust/envelope/sign-message.ts';
import { initPki, issuePartyCertificates, refreshCrl } from '../src/trust/pki/authority.ts';
import { partyPaths, pkiPaths, retiredEncryptionKeyPath } from '../src/trust/pki/files.ts';

const REQUESTER = '152048';
const PROVIDER = '131041';
const ITEM = { itemNo: 2, layoutVersion: '2020.06', data: { taxableIncome: 4_200_000 } };

const dir = mkdtempSync(join(tmpdir(), 'renkei-renewal-'));
const pkiDir = join(dir, 'pki');
const archives: MessageArchive[] = [];

beforeAll(async () => {
  await initPki({ dir: pkiDir, clock: systemClock });
  for (const party of [REQUESTER, PROVIDER]) {
    await issuePartyCertificates({ dir: pkiDir, partyId: party, role: 'institution', clock: systemClock });
  }
  await refreshCrl({ dir: pkiDir, clock: systemClock });
}, 60_000);

afterAll(async () => {
  for (const archive of archives) await archive.close();
  rmSync(dir, { recursive: true, force: true });
});

function trustOf(partyId: string): Promise<NodeTrust> {
  return loadNodeTrust({ pkiDir, partyId, clock: systemClock, crl: { file: pkiPaths(pkiDir).crlDer } });
}

async function archiveAt(name: string): Promise<MessageArchive> {
  const archive = await openMessageArchive(join(dir, `${name}-${uuidv7()}.sqlite`));
  archives.push(archive);
  return archive;
}

/** The requester's signed inquiry, kept in its archive as sent (the sealed items name its hash). */
async function sentInquiry(requester: NodeTrust, archive: MessageArchive): Promise<string> {
  const jws = await signMessage({
    type: 'InquiryRequest',
    payload: {
      requesterId: REQUESTER,
      providerId: PROVIDER,
      personCode: randomBytes(33).toString('base64url'),
      clauseNo: '74',
      procedureId: '074-01',
      itemNos: [2],
      nonDisclosure: false,
      encryptionCertificate: requester.self.encryption.certificatePem,
    },
    sender: REQUESTER,
    audience: 'core',
    key: requester.self.signingKey,
    kid: requester.self.kid,
    clock: systemClock,
  });
  const hash = messageHash(jws);
  archive.keep([
    {
      processingNumber: null,
      direction: 'sent',
      type: 'InquiryRequest',
      sender: REQUESTER,
      audience: 'core',
      id: uuidv7(),
      hash,
      inResponseTo: null,
      at: new Date().toISOString(),
      jws,
      certificate: requester.tls.cert,
    },
  ]);
  await archive.flush();
  return hash;
}

describe('certificate renewal', () => {
  it('opens items sealed to the encryption certificate an inquiry named before the requester was issued new ones', async () => {
    const before = await trustOf(REQUESTER);
    const provider = await trustOf(PROVIDER);
    const requesterArchive = await archiveAt('requester');
    const inquiryHash = await sentInquiry(before, requesterArchive);
    const processingNumber = uuidv7();
    // The provider answers after the renewal, to the certificate the inquiry named.
    const sealed = await createItemSealer(provider, await archiveAt('provider')).seal({
      processingNumber,
      inquiryHash,
      requesterId: REQUESTER,
      requesterCertificate: before.self.encryption.certificatePem,
      items: [ITEM],
    });

    await issuePartyCertificates({
      dir: pkiDir,
      partyId: REQUESTER,
      role: 'institution',
      clock: systemClock,
    });
    const retired = retiredEncryptionKeyPath(pkiDir, REQUESTER, before.self.encryption.kid);
    expect(statSync(retired).mode & 0o777).toBe(0o600);
    expect(statSync(partyPaths(pkiDir, REQUESTER).retiredEncryptionKeys).mode & 0o777).toBe(0o700);

    // The node restarted on its new certificates.
    const after = await trustOf(REQUESTER);
    expect(after.self.encryption.kid).not.toBe(before.self.encryption.kid);
    expect(after.self.kid).not.toBe(before.self.kid);
    const open = (trust: NodeTrust) =>
      createItemSealer(trust, requesterArchive).open({ processingNumber, providerId: PROVIDER, sealed });
    expect((await open(after)).items).toEqual([ITEM]);
    // And what is sealed to its new certificate opens too.
    const sealedToNew = await createItemSealer(provider, await archiveAt('provider')).seal({
      processingNumber,
      inquiryHash,
      requesterId: REQUESTER,
      requesterCertificate: after.self.encryption.certificatePem,
      items: [ITEM],
    });
    expect(
      (
        await createItemSealer(after, requesterArchive).open({
          processingNumber,
          providerId: PROVIDER,
          sealed: sealedToNew,
        })
      ).items,
    ).toEqual([ITEM]);

    // Without the retired key (removed by hand), the earlier answer no longer opens: it was that key.
    rmSync(retired);
    await expect(open(await trustOf(REQUESTER))).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
      details: { reason: 'other_kid' },
    });
  });

  it('keeps every earlier encryption key across several renewals, and none of the identity keys', async () => {
    const serials: string[] = [];
    for (let i = 0; i < 3; i++) {
      serials.push((await trustOf(PROVIDER)).self.encryption.kid);
      await issuePartyCertificates({
        dir: pkiDir,
        partyId: PROVIDER,
        role: 'institution',
        clock: systemClock,
      });
    }
    const kept = readdirSync(partyPaths(pkiDir, PROVIDER).retiredEncryptionKeys).sort();
    expect(kept).toEqual(serials.map((serial) => `${serial}-key.pem`).sort());
    const trust = await trustOf(PROVIDER);
    for (const serial of serials) expect(trust.self.encryption.keyFor(serial)).toBeDefined();
    expect(trust.self.encryption.keyFor(trust.self.encryption.kid)).toBe(trust.self.encryption.key);
    expect(trust.self.encryption.keyFor(trust.self.kid)).toBeUndefined();
  });

  it('refuses to start on a retired key file that is not a key, naming the file', async () => {
    const bad = retiredEncryptionKeyPath(pkiDir, PROVIDER, 'abcdef01');
    writeFileSync(bad, 'not a key', { mode: 0o600 });
    try {
      const refused = await trustOf(PROVIDER).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toMatchObject({ code: 'ERR_CONFIG_INVALID', details: { file: bad } });
    } finally {
      rmSync(bad);
    }
  });
});
