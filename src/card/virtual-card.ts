/**
 * The virtual Individual Number Card (個人番号カード): one file (mode 0600) holding the chip's
 * applications as seed 002 lists them (ICチップの構成):
 *
 * - 券面事項 (card face, `cardFace`): name, address, date of birth, sex, expiry, a photo placeholder;
 * - 券面事項入力補助 (card-face input assist, `cardFaceAssist`): the basic four information and the
 *   Individual Number, for filling forms;
 * - 公的個人認証 (JPKI): two RSA-2048 key pairs made inside the card (signing, user authentication)
 *   and their certificates;
 * - 住基 (the resident record code application).
 *
 * Two secrets guard them, as on the real card: a 4-digit PIN for user authentication, the card face
 * and the 住基 application (3 wrong tries lock it), and a 6–16 character password of upper-case
 * letters and digits for signing (5 wrong tries lock it). The try counters live in the card. A locked
 * secret refuses even the right value; only the municipality unlocks it (`unlockWithKnownSecret`,
 * `rekey`: J-LIS's card service calls them, never the holder's reader).
 *
 * The private keys never leave this module: it signs, it does not export. Each secret's
 * applications are sealed (AES-256-GCM) under a key derived from the secret with scrypt, so the
 * file holds no key and no personal data in clear; the right secret is the one that opens the seal.
 * What a file cannot do that a chip does (a copied file can be attacked offline, and its counters
 * edited) is said in src/nodes/jlis/README.md, "The Individual Number Card".
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  generateKeyPair,
  randomBytes,
  scrypt,
  sign as rsaSign,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { z } from 'zod';
import { RenkeiError } from '../shared/errors.ts';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  length: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;
const generateKeyPairAsync = promisify(generateKeyPair);

export type Sex = 'male' | 'female' | 'other';

/** 券面事項: what is printed on the card, as the card-face application gives it. */
export interface CardFace {
  name: string;
  address: string;
  dateOfBirth: string;
  sex: Sex;
  /** The card's last valid day (`YYYY-MM-DD`), printed as "…まで有効". */
  expiresOn: string;
  /** The photo is not modelled: a fixed placeholder. */
  photo: 'placeholder';
  /**
   * 追記: what the municipality wrote on the card after a change (the real card's back, 追記欄), oldest
   * first: the day, the field, the value it replaced and the new one. The fields above are the
   * current values; these keep the old ones.
   */
  endorsements?: CardFaceEndorsement[] | undefined;
}

export type EndorsedField = 'name' | 'address' | 'dateOfBirth' | 'sex';

/** One line of the 追記欄. */
export interface CardFaceEndorsement {
  endorsedOn: string;
  field: EndorsedField;
  previous: string;
  current: string;
}

const ENDORSED_FIELDS: readonly EndorsedField[] = ['name', 'address', 'dateOfBirth', 'sex'];

/** 券面事項入力補助: the basic four information and the Individual Number. */
export interface CardFaceAssist {
  name: string;
  nameKana?: string | undefined;
  address: string;
  dateOfBirth: string;
  sex: Sex;
  individualNumber: string;
}

export type CertificateKind = 'signing' | 'authentication';
export type SecretKind = 'pin' | 'password';

export interface IssuedCertificate {
  serial: string;
  certificateDer: Uint8Array;
}

/** What the card asks its issuer (J-LIS's JPKI) to certify: public keys only. */
export interface CertifyRequest {
  authenticationPublicKeySpki: Uint8Array;
  signingPublicKeySpki: Uint8Array;
}

export interface CertifyAnswer {
  authentication: IssuedCertificate;
  /** Absent when no signing certificate is issued (a holder under 15): the card then has no signing key. */
  signing?: IssuedCertificate | undefined;
}

/** scrypt's cost; the default is for real cards, tests pass a cheap one. */
export interface KdfCost {
  N: number;
  r: number;
  p: number;
}

/**
 * 2^16 × 8 × 128 bytes = 64 MiB and 0.24 s of CPU per try (measured on the development machine): a
 * 4-digit PIN still falls to an offline search of a copied file within 40 minutes of one core
 * (10,000 tries); the 6–16 character password (36^6 ≈ 2×10^9 at the shortest) does not. We
 * considered a higher cost, but it is paid on every signature and every read too.
 */
export const DEFAULT_KDF: KdfCost = { N: 2 ** 16, r: 8, p: 1 };
/** For tests only: fast and weak. */
export const TEST_KDF: KdfCost = { N: 2 ** 10, r: 8, p: 1 };

export const PIN_TRIES = 3;
export const PASSWORD_TRIES = 5;

const PIN = /^[0-9]{4}$/;
const PASSWORD = /^[A-Z0-9]{6,16}$/;

const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const Sealed = z.object({ iv: Base64, tag: Base64, data: Base64 });
const Slot = z.object({
  kdf: z.object({
    name: z.literal('scrypt'),
    N: z.number().int(),
    r: z.number().int(),
    p: z.number().int(),
    salt: Base64,
  }),
  maxTries: z.number().int().min(1),
  triesLeft: z.number().int().min(0),
  sealed: Sealed,
});
type Slot = z.infer<typeof Slot>;
const Certificate = z.object({ serial: z.string().min(1), der: Base64 });

/** The card file: public parts in clear, each secret's applications sealed. */
const CardFile = z.object({
  format: z.literal('renkei.virtual-card.v1'),
  cardId: z.string().min(1),
  issuedOn: z.iso.date(),
  expiresOn: z.iso.date(),
  /** The user-authentication certificate carries no personal data and is read without the PIN. */
  authenticationCertificate: Certificate,
  /** PIN: the authentication key, the card face, the input assist, the resident record code. */
  pin: Slot,
  /** Password: the signing key and the signing certificate (it carries the basic four information). */
  password: Slot.optional(),
});
type CardFile = z.infer<typeof CardFile>;

interface PinContents {
  authenticationKey: string;
  cardFace: CardFace;
  cardFaceAssist: CardFaceAssist;
  residentRecordCode: string;
}
interface PasswordContents {
  signingKey: string;
  signingCertificate: { serial: string; der: string };
}

/** What a card is made from: everything but the keys, which the card makes itself. */
export interface NewCard {
  cardId: string;
  issuedOn: string;
  cardFace: CardFace;
  cardFaceAssist: CardFaceAssist;
  residentRecordCode: string;
  pin: string;
  /** The signing password; ignored (and not needed) when no signing certificate is issued. */
  signingPassword?: string | undefined;
  /** Asks the issuer for the certificates of the card's new public keys. */
  certify: (request: CertifyRequest) => Promise<CertifyAnswer>;
  kdf?: KdfCost;
}

/**
 * A virtual card. It persists each change (a try counted, a counter reset) through `save` before it
 * answers, as a chip writes its counter before it checks the PIN.
 */
export class VirtualCard {
  private constructor(
    private file: CardFile,
    private readonly save: (bytes: Uint8Array) => void,
  ) {}

  /**
   * Make a card: its two key pairs generated here, their public keys certified through `certify`,
   * the private keys sealed at once. Errors: ERR_VALIDATION (a PIN not 4 digits, a password not
   * 6–16 upper-case letters and digits).
   */
  static async create(input: NewCard, save: (bytes: Uint8Array) => void = () => {}): Promise<VirtualCard> {
    checkSecret('pin', input.pin);
    if (input.signingPassword !== undefined) checkSecret('password', input.signingPassword);
    const kdf = input.kdf ?? DEFAULT_KDF;
    const authentication = await newRsaKeyPair();
    const signing = await newRsaKeyPair();
    const certified = await input.certify({
      authenticationPublicKeySpki: spki(authentication.publicKey),
      signingPublicKeySpki: spki(signing.publicKey),
    });
    if (certified.signing && input.signingPassword === undefined) {
      throw new TypeError('a signing certificate was issued for a card made without a signing password');
    }
    const pinContents: PinContents = {
      authenticationKey: pkcs8(authentication.privateKey),
      cardFace: input.cardFace,
      cardFaceAssist: input.cardFaceAssist,
      residentRecordCode: input.residentRecordCode,
    };
    const file: CardFile = {
      format: 'renkei.virtual-card.v1',
      cardId: input.cardId,
      issuedOn: input.issuedOn,
      expiresOn: input.cardFace.expiresOn,
      authenticationCertificate: certificateOf(certified.authentication),
      pin: await seal(pinContents, input.pin, PIN_TRIES, kdf),
    };
    if (certified.signing && input.signingPassword !== undefined) {
      const contents: PasswordContents = {
        signingKey: pkcs8(signing.privateKey),
        signingCertificate: certificateOf(certified.signing),
      };
      file.password = await seal(contents, input.signingPassword, PASSWORD_TRIES, kdf);
    }
    const card = new VirtualCard(file, save);
    card.persist();
    return card;
  }

  /** A card from its bytes (an archive, or a file's content). Errors: ERR_VALIDATION (not a card). */
  static fromBytes(bytes: Uint8Array, save: (bytes: Uint8Array) => void = () => {}): VirtualCard {
    let parsed;
    try {
      parsed = CardFile.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) throw new RenkeiError('ERR_VALIDATION', 'This is not a virtual card.');
    return new VirtualCard(parsed.data, save);
  }

  /** Open a card file; every change is written back to it (atomically, mode 0600). */
  static open(path: string): VirtualCard {
    return VirtualCard.fromBytes(readFileSync(path), (bytes) => writeCardFile(path, bytes));
  }

  get cardId(): string {
    return this.file.cardId;
  }

  get expiresOn(): string {
    return this.file.expiresOn;
  }

  /** The card as bytes, to write to a file or carry as an archive. */
  toBytes(): Uint8Array {
    return new Uint8Array(Buffer.from(`${JSON.stringify(this.file, null, 2)}\n`, 'utf8'));
  }

  /** Tries left of each secret (what a reader shows before asking for it). */
  status(): { cardId: string; pinTriesLeft: number; passwordTriesLeft: number | undefined } {
    return {
      cardId: this.file.cardId,
      pinTriesLeft: this.file.pin.triesLeft,
      passwordTriesLeft: this.file.password?.triesLeft,
    };
  }

  /**
   * Sign `data` (RSA PKCS#1 v1.5, SHA-256) with the user-authentication key, after the 4-digit PIN.
   * Errors: ERR_WRONG_PIN (details: remainingTries), ERR_PIN_LOCKED, ERR_VALIDATION.
   */
  async signWithAuthenticationKey(pin: string, data: Uint8Array): Promise<Uint8Array> {
    const contents = await this.openPin(pin);
    return signRsa(contents.authenticationKey, data);
  }

  /**
   * Sign `data` (RSA PKCS#1 v1.5, SHA-256) with the signing key, after the signing password.
   * Errors: ERR_WRONG_PIN, ERR_PIN_LOCKED, ERR_VALIDATION, ERR_UNKNOWN_CERTIFICATE (no signing
   * certificate on this card).
   */
  async signWithSigningKey(password: string, data: Uint8Array): Promise<Uint8Array> {
    const contents = await this.openPassword(password);
    return signRsa(contents.signingKey, data);
  }

  /**
   * A certificate, DER: the user-authentication one freely (it names no one), the signing one only
   * after the password, since it carries the basic four information. Errors: as the sign operations.
   */
  async readCertificate(kind: 'authentication'): Promise<IssuedCertificate>;
  async readCertificate(kind: 'signing', password: string): Promise<IssuedCertificate>;
  async readCertificate(kind: CertificateKind, password?: string): Promise<IssuedCertificate> {
    if (kind === 'authentication') return fromCertificate(this.file.authenticationCertificate);
    const contents = await this.openPassword(password ?? '');
    return fromCertificate(contents.signingCertificate);
  }

  /** 券面事項入力補助: the four information and the Individual Number, after the 4-digit PIN. */
  async readCardFaceAssist(pin: string): Promise<CardFaceAssist> {
    return (await this.openPin(pin)).cardFaceAssist;
  }

  /** 券面事項: the card face, after the 4-digit PIN. */
  async readCardFace(pin: string): Promise<CardFace> {
    return (await this.openPin(pin)).cardFace;
  }

  /** 住基: the resident record code, after the 4-digit PIN. */
  async readResidentRecordCode(pin: string): Promise<string> {
    return (await this.openPin(pin)).residentRecordCode;
  }

  /**
   * The municipality's unlock (暗証番号のロック解除) when the holder still knows the secret: checked
   * whatever the counter says, the counter reset, and the secret changed when `newSecret` is given.
   * J-LIS's card service calls it for a clerk; a holder's reader has no use for it. Errors:
   * ERR_WRONG_PIN (counted as any wrong try), ERR_VALIDATION, ERR_UNKNOWN_CERTIFICATE.
   */
  async unlockWithKnownSecret(which: SecretKind, secret: string, newSecret?: string): Promise<void> {
    checkSecret(which, secret);
    if (newSecret !== undefined) checkSecret(which, newSecret);
    const slot = this.slot(which);
    const contents = await this.tryOpen(which, slot, secret, { ignoreLock: true });
    this.setSlot(which, await seal(contents, newSecret ?? secret, slot.maxTries, kdfOf(slot)));
    this.persist();
  }

  /**
   * 券面事項の追記, at the counter after a move or a name change, the holder typing the 4-digit PIN:
   * the card face takes the identity record's current values, each one it changes kept as a line of
   * the 追記欄 (`endorsements`), and the input assist (券面事項入力補助) is rewritten whole. Nothing is
   * written when nothing differs. Returns what changed: the card-face fields, and `nameKana` when
   * only the assist's reading did. Errors: ERR_WRONG_PIN, ERR_PIN_LOCKED, ERR_VALIDATION.
   */
  async endorse(
    pin: string,
    record: { cardFaceAssist: CardFaceAssist; endorsedOn: string },
  ): Promise<(EndorsedField | 'nameKana')[]> {
    const contents = await this.openPin(pin);
    const { cardFace, cardFaceAssist } = contents;
    const now = record.cardFaceAssist;
    const lines = ENDORSED_FIELDS.filter((field) => cardFace[field] !== now[field]).map(
      (field): CardFaceEndorsement => ({
        endorsedOn: record.endorsedOn,
        field,
        previous: cardFace[field],
        current: now[field],
      }),
    );
    const kana = cardFaceAssist.nameKana !== now.nameKana;
    const assistChanged =
      kana ||
      ENDORSED_FIELDS.some((f) => cardFaceAssist[f] !== now[f]) ||
      cardFaceAssist.individualNumber !== now.individualNumber;
    if (lines.length === 0 && !assistChanged) return [];
    const endorsed: PinContents = {
      ...contents,
      cardFace: {
        ...cardFace,
        name: now.name,
        address: now.address,
        dateOfBirth: now.dateOfBirth,
        sex: now.sex,
        endorsements: [...(cardFace.endorsements ?? []), ...lines],
      },
      cardFaceAssist: now,
    };
    const slot = this.file.pin;
    this.file.pin = await seal(endorsed, pin, slot.maxTries, kdfOf(slot));
    this.persist();
    return [...lines.map((l) => l.field), ...(kana ? (['nameKana'] as const) : [])];
  }

  /**
   * 署名用電子証明書の発行 onto this card at the counter (after an identity change revoked the old one,
   * or for a holder who had none): a new signing key pair made here, certified through `certify`,
   * sealed under the signing password the holder sets now; the user-authentication key, the card
   * face and the PIN are untouched. Errors: ERR_VALIDATION (a password not 6–16 upper-case letters
   * and digits).
   */
  async replaceSigningKey(input: {
    signingPassword: string;
    certify: (signingPublicKeySpki: Uint8Array) => Promise<IssuedCertificate>;
    kdf?: KdfCost;
  }): Promise<IssuedCertificate> {
    checkSecret('password', input.signingPassword);
    const signing = await newRsaKeyPair();
    const certificate = await input.certify(spki(signing.publicKey));
    const contents: PasswordContents = {
      signingKey: pkcs8(signing.privateKey),
      signingCertificate: certificateOf(certificate),
    };
    this.file.password = await seal(
      contents,
      input.signingPassword,
      PASSWORD_TRIES,
      input.kdf ?? kdfOf(this.file.pin),
    );
    this.persist();
    return certificate;
  }

  /**
   * The municipality's re-keying, when the holder forgot a secret or the certificates were revoked
   * (a card found again): both key pairs made anew, certified through `certify`, sealed under the
   * new PIN and password; the card face and the rest from `input` (J-LIS's record). A sealed secret
   * cannot be reset without knowing it (it is the key), so a forgotten one means new keys.
   */
  async rekey(input: Omit<NewCard, 'cardId' | 'issuedOn'>): Promise<void> {
    const fresh = await VirtualCard.create({
      ...input,
      cardId: this.file.cardId,
      issuedOn: this.file.issuedOn,
    });
    this.file = fresh.file;
    this.persist();
  }

  private async openPin(pin: string): Promise<PinContents> {
    checkSecret('pin', pin);
    return (await this.tryOpen('pin', this.file.pin, pin, {})) as PinContents;
  }

  private async openPassword(password: string): Promise<PasswordContents> {
    const slot = this.slot('password');
    checkSecret('password', password);
    return (await this.tryOpen('password', slot, password, {})) as PasswordContents;
  }

  private slot(which: SecretKind): Slot {
    const slot = which === 'pin' ? this.file.pin : this.file.password;
    if (!slot) {
      throw new RenkeiError('ERR_UNKNOWN_CERTIFICATE', 'This card has no signing certificate.');
    }
    return slot;
  }

  private setSlot(which: SecretKind, slot: Slot): void {
    if (which === 'pin') this.file.pin = slot;
    else this.file.password = slot;
  }

  /**
   * The try is counted and written before the secret is checked, as a chip does, so that pulling
   * the card (killing the process) mid-check does not save a try; the right secret gives it back.
   */
  private async tryOpen(
    which: SecretKind,
    slot: Slot,
    secret: string,
    options: { ignoreLock?: boolean },
  ): Promise<PinContents | PasswordContents> {
    if (slot.triesLeft === 0 && !options.ignoreLock) {
      throw new RenkeiError(
        'ERR_PIN_LOCKED',
        `The card's ${label(which)} is locked; only the municipality can unlock it.`,
        { which },
      );
    }
    const before = slot.triesLeft;
    slot.triesLeft = Math.max(0, before - 1);
    this.persist();
    const contents = await unseal(slot, secret);
    if (contents === undefined) {
      const remainingTries = slot.triesLeft;
      throw new RenkeiError(
        'ERR_WRONG_PIN',
        remainingTries === 0
          ? `Wrong ${label(which)}: it is now locked; only the municipality can unlock it.`
          : `Wrong ${label(which)}.`,
        { which, remainingTries },
      );
    }
    slot.triesLeft = slot.maxTries;
    this.persist();
    return contents as PinContents | PasswordContents;
  }

  private persist(): void {
    this.save(this.toBytes());
  }
}

/** Write a card file atomically with mode 0600 (a temporary file renamed over it). */
export function writeCardFile(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, bytes, { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** The scrypt cost a slot was sealed with, to seal it again alike. */
function kdfOf(slot: Slot): KdfCost {
  return { N: slot.kdf.N, r: slot.kdf.r, p: slot.kdf.p };
}

function label(which: SecretKind): string {
  return which === 'pin' ? '4-digit PIN' : 'signing password';
}

function checkSecret(which: SecretKind, secret: string | undefined): asserts secret is string {
  const ok = secret !== undefined && (which === 'pin' ? PIN : PASSWORD).test(secret);
  if (!ok) {
    throw new RenkeiError(
      'ERR_VALIDATION',
      which === 'pin'
        ? 'The PIN must be 4 digits.'
        : 'The signing password must be 6 to 16 upper-case letters (A–Z) and digits.',
      { which },
    );
  }
}

async function deriveKey(secret: string, salt: Buffer, cost: KdfCost): Promise<Buffer> {
  return scryptAsync(secret, salt, 32, { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 });
}

async function seal(contents: object, secret: string, tries: number, cost: KdfCost): Promise<Slot> {
  const salt = randomBytes(16);
  const key = await deriveKey(secret, salt, cost);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(contents), 'utf8'), cipher.final()]);
  return {
    kdf: { name: 'scrypt', ...cost, salt: salt.toString('base64') },
    maxTries: tries,
    triesLeft: tries,
    sealed: {
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    },
  };
}

/** The contents, or undefined when `secret` does not open the seal. */
async function unseal(slot: Slot, secret: string): Promise<unknown> {
  const key = await deriveKey(secret, Buffer.from(slot.kdf.salt, 'base64'), slot.kdf);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(slot.sealed.iv, 'base64'));
    decipher.setAuthTag(Buffer.from(slot.sealed.tag, 'base64'));
    const plain = Buffer.concat([decipher.update(Buffer.from(slot.sealed.data, 'base64')), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

async function newRsaKeyPair(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
}

function spki(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
}

function pkcs8(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'der' }).toString('base64');
}

function signRsa(pkcs8Base64: string, data: Uint8Array): Uint8Array {
  const key = createPrivateKey({ key: Buffer.from(pkcs8Base64, 'base64'), format: 'der', type: 'pkcs8' });
  return new Uint8Array(rsaSign('sha256', data, key));
}

function certificateOf(issued: IssuedCertificate): { serial: string; der: string } {
  return { serial: issued.serial, der: Buffer.from(issued.certificateDer).toString('base64') };
}

function fromCertificate(certificate: { serial: string; der: string }): IssuedCertificate {
  return {
    serial: certificate.serial,
    certificateDer: new Uint8Array(Buffer.from(certificate.der, 'base64')),
  };
}
