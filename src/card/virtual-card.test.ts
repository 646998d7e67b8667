import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RenkeiError } from '../shared/errors.ts';
import { certificatePublicKey, createTestJpkiIssuer, type TestJpkiIssuer } from './test-support.ts';
import { TEST_KDF, VirtualCard, writeCardFile, type NewCard } from './virtual-card.ts';

const INDIVIDUAL_NUMBER = '123456789018';
const RESIDENT_RECORD_CODE = '12345678901';
const ASSIST = {
  name: '番号 花子',
  nameKana: 'バンゴウ ハナコ',
  address: '東京都千代田区霞が関2-1-2',
  dateOfBirth: '1998-03-31',
  sex: 'female',
  individualNumber: INDIVIDUAL_NUMBER,
} as const;

let dir: string;
let issuer: TestJpkiIssuer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-card-'));
  issuer = await createTestJpkiIssuer();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function newCard(overrides: Partial<NewCard> = {}): NewCard {
  return {
    cardId: 'CARD0001',
    issuedOn: '2024-06-01',
    cardFace: { ...ASSIST, expiresOn: '2034-03-31', photo: 'placeholder' },
    cardFaceAssist: ASSIST,
    residentRecordCode: RESIDENT_RECORD_CODE,
    pin: '1234',
    signingPassword: 'ABC123',
    certify: (keys) =>
      issuer.issuePair({
        residentRecordCode: RESIDENT_RECORD_CODE,
        cardId: 'CARD0001',
        fourInformation: ASSIST,
        notAfter: new Date('2029-03-31T14:59:59Z'),
        ...keys,
      }),
    kdf: TEST_KDF,
    ...overrides,
  };
}

/** A card in a file of its own, every change written to it. */
async function cardFile(
  name: string,
  overrides: Partial<NewCard> = {},
): Promise<{ path: string; card: VirtualCard }> {
  const path = join(dir, name);
  await VirtualCard.create(newCard(overrides), (bytes) => writeCardFile(path, bytes));
  return { path, card: VirtualCard.open(path) };
}

async function failure(promise: Promise<unknown>): Promise<RenkeiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RenkeiError);
  return error as RenkeiError;
}

describe('the virtual card', () => {
  it('is one file of mode 0600 with no private key, Individual Number or name in clear', async () => {
    const { path } = await cardFile('clear.card');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    for (const forbidden of ['PRIVATE KEY', INDIVIDUAL_NUMBER, RESIDENT_RECORD_CODE, '番号', 'ABC123']) {
      expect(text).not.toContain(forbidden);
    }
    // A PKCS#8 RSA private key in DER starts 30 82 ?? ?? 02 01 00 30 0d 06 09 2a 86 48 86 f7 0d 01 01 01.
    const pkcs8Start = Buffer.from('020100300d06092a864886f70d0101010500', 'hex');
    expect(Buffer.from(text).includes(pkcs8Start)).toBe(false);
    for (const b64 of text.match(/[A-Za-z0-9+/=]{40,}/g) ?? []) {
      expect(Buffer.from(b64, 'base64').includes(pkcs8Start)).toBe(false);
    }
  });

  it('gives the Individual Number only after the 4-digit PIN', async () => {
    const { card } = await cardFile('assist.card');
    expect(await card.readCardFaceAssist('1234')).toMatchObject({ individualNumber: INDIVIDUAL_NUMBER });
    expect(await card.readResidentRecordCode('1234')).toBe(RESIDENT_RECORD_CODE);
    expect((await card.readCardFace('1234')).expiresOn).toBe('2034-03-31');
    const error = await failure(card.readCardFaceAssist('4321'));
    expect(error.code).toBe('ERR_WRONG_PIN');
    expect(error.message).not.toContain(INDIVIDUAL_NUMBER);
  });

  it('signs with the authentication key, verifiable with its certificate’s public key', async () => {
    const { card } = await cardFile('auth.card');
    const data = new TextEncoder().encode('login challenge 0001');
    const signature = await card.signWithAuthenticationKey('1234', data);
    const { certificateDer } = await card.readCertificate('authentication');
    const key = await certificatePublicKey(certificateDer);
    expect(await webcrypto.subtle.verify('RSASSA-PKCS1-v1_5', key, Uint8Array.from(signature), data)).toBe(
      true,
    );
    expect(
      await webcrypto.subtle.verify(
        'RSASSA-PKCS1-v1_5',
        key,
        Uint8Array.from(signature),
        new Uint8Array([1]),
      ),
    ).toBe(false);
  });

  it('signs with the signing key after the password, and reads the signing certificate only then', async () => {
    const { card } = await cardFile('sign.card');
    const data = new TextEncoder().encode('口座開設申込書');
    const signature = await card.signWithSigningKey('ABC123', data);
    const { certificateDer } = await card.readCertificate('signing', 'ABC123');
    const key = await certificatePublicKey(certificateDer);
    expect(await webcrypto.subtle.verify('RSASSA-PKCS1-v1_5', key, Uint8Array.from(signature), data)).toBe(
      true,
    );
    // The two keys differ: the authentication certificate does not verify a signing signature.
    const authKey = await certificatePublicKey((await card.readCertificate('authentication')).certificateDer);
    expect(
      await webcrypto.subtle.verify('RSASSA-PKCS1-v1_5', authKey, Uint8Array.from(signature), data),
    ).toBe(false);
    expect((await failure(card.readCertificate('signing', 'WRONG1'))).code).toBe('ERR_WRONG_PIN');
  });

  it('locks the PIN after 3 wrong tries, counted in the file, and then refuses even the right PIN', async () => {
    const { path, card } = await cardFile('lock-pin.card');
    const tries: unknown[] = [];
    for (const pin of ['0000', '0001', '0002']) {
      const error = await failure(card.signWithAuthenticationKey(pin, new Uint8Array([1])));
      tries.push([error.code, error.details.remainingTries]);
      // Each try is in the file before the answer: a card opened afresh sees it.
      expect(VirtualCard.open(path).status().pinTriesLeft).toBe(error.details.remainingTries);
    }
    expect(tries).toEqual([
      ['ERR_WRONG_PIN', 2],
      ['ERR_WRONG_PIN', 1],
      ['ERR_WRONG_PIN', 0],
    ]);
    expect((await failure(card.signWithAuthenticationKey('1234', new Uint8Array([1])))).code).toBe(
      'ERR_PIN_LOCKED',
    );
    expect((await failure(VirtualCard.open(path).readCardFaceAssist('1234'))).code).toBe('ERR_PIN_LOCKED');
    // The signing password is a separate secret, not locked by the PIN.
    await card.signWithSigningKey('ABC123', new Uint8Array([1]));
  });

  it('locks the signing password after 5 wrong tries', async () => {
    const { card } = await cardFile('lock-password.card');
    const remaining: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      remaining.push(
        (await failure(card.signWithSigningKey(`WRONG${i}`, new Uint8Array([1])))).details.remainingTries,
      );
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    expect((await failure(card.signWithSigningKey('ABC123', new Uint8Array([1])))).code).toBe(
      'ERR_PIN_LOCKED',
    );
  });

  it('resets the counter on a right PIN', async () => {
    const { path, card } = await cardFile('reset.card');
    await failure(card.readCardFace('0000'));
    await failure(card.readCardFace('0000'));
    expect(card.status().pinTriesLeft).toBe(1);
    await card.readCardFace('1234');
    expect(VirtualCard.open(path).status().pinTriesLeft).toBe(3);
  });

  it('is unlocked by the municipality with the known PIN, or re-keyed under new secrets when it is forgotten', async () => {
    const { card } = await cardFile('unlock.card');
    for (const pin of ['0000', '0001', '0002']) await failure(card.readCardFace(pin));
    expect((await failure(card.unlockWithKnownSecret('pin', '9999'))).code).toBe('ERR_WRONG_PIN');
    await card.unlockWithKnownSecret('pin', '1234', '5678');
    expect(card.status().pinTriesLeft).toBe(3);
    expect((await card.readCardFaceAssist('5678')).individualNumber).toBe(INDIVIDUAL_NUMBER);

    const oldSerial = (await card.readCertificate('authentication')).serial;
    await card.rekey({ ...newCard(), pin: '2468', signingPassword: 'NEWPASS9' });
    expect((await card.readCertificate('authentication')).serial).not.toBe(oldSerial);
    expect(card.cardId).toBe('CARD0001');
    await card.signWithSigningKey('NEWPASS9', new Uint8Array([1]));
  });

  it('refuses a PIN that is not 4 digits and a password outside A–Z and 0–9 without counting a try', async () => {
    const { card } = await cardFile('format.card');
    expect((await failure(card.readCardFace('12345'))).code).toBe('ERR_VALIDATION');
    expect((await failure(card.signWithSigningKey('abc123', new Uint8Array([1])))).code).toBe(
      'ERR_VALIDATION',
    );
    expect((await failure(card.signWithSigningKey('ABC12', new Uint8Array([1])))).code).toBe(
      'ERR_VALIDATION',
    );
    expect(card.status()).toMatchObject({ pinTriesLeft: 3, passwordTriesLeft: 5 });
    await expect(VirtualCard.create(newCard({ pin: '12a4' }))).rejects.toThrow(/4 digits/);
  });

  it('has no signing key when no signing certificate is issued', async () => {
    const card = await VirtualCard.create(
      newCard({
        signingPassword: undefined,
        certify: async (keys) => ({ authentication: (await newCard().certify(keys)).authentication }),
      }),
    );
    expect((await failure(card.signWithSigningKey('ABC123', new Uint8Array([1])))).code).toBe(
      'ERR_UNKNOWN_CERTIFICATE',
    );
    await card.signWithAuthenticationKey('1234', new Uint8Array([1]));
  });

  it('writes a change on the card face keeping the old value as 追記, and writes nothing when nothing changed', async () => {
    const { path, card } = await cardFile('endorse.card');
    const moved = { ...ASSIST, address: '大阪府大阪市北区中之島1丁目3番20号' };
    expect(await card.endorse('1234', { cardFaceAssist: ASSIST, endorsedOn: '2025-04-01' })).toEqual([]);
    expect(await card.endorse('1234', { cardFaceAssist: moved, endorsedOn: '2025-04-01' })).toEqual([
      'address',
    ]);
    const reopened = VirtualCard.open(path);
    const face = await reopened.readCardFace('1234');
    expect(face).toMatchObject({ address: moved.address, name: ASSIST.name, expiresOn: '2034-03-31' });
    expect(face.endorsements).toEqual([
      { endorsedOn: '2025-04-01', field: 'address', previous: ASSIST.address, current: moved.address },
    ]);
    expect((await reopened.readCardFaceAssist('1234')).address).toBe(moved.address);
    expect(readFileSync(path, 'utf8')).not.toContain('大阪');
    expect(
      (await failure(reopened.endorse('9999', { cardFaceAssist: ASSIST, endorsedOn: '2025-04-02' }))).code,
    ).toBe('ERR_WRONG_PIN');
  });

  it('takes a new signing key under a new password, keeping the user-authentication key and the PIN', async () => {
    const { card } = await cardFile('new-signing.card');
    const before = await card.readCertificate('authentication');
    const issued = await card.replaceSigningKey({
      signingPassword: 'NEW123',
      kdf: TEST_KDF,
      certify: (signingPublicKeySpki) =>
        issuer.issueSigning({
          residentRecordCode: RESIDENT_RECORD_CODE,
          cardId: 'CARD0001',
          fourInformation: ASSIST,
          signingPublicKeySpki,
          authenticationSerial: before.serial,
          notAfter: new Date('2029-03-31T14:59:59Z'),
        }),
    });
    expect((await card.readCertificate('signing', 'NEW123')).serial).toBe(issued.serial);
    expect((await failure(card.signWithSigningKey('ABC123', new Uint8Array([1])))).code).toBe(
      'ERR_WRONG_PIN',
    );
    const data = new Uint8Array([7, 7]);
    const signature = await card.signWithSigningKey('NEW123', data);
    const key = await certificatePublicKey(issued.certificateDer);
    expect(await webcrypto.subtle.verify('RSASSA-PKCS1-v1_5', key, new Uint8Array(signature), data)).toBe(
      true,
    );
    expect((await card.readCertificate('authentication')).serial).toBe(before.serial);
    await card.signWithAuthenticationKey('1234', data);
  });
});
