/**
 * J-LIS's card side (`/admin/v1/card-…`): a municipality's clerk takes an application for the
 * Individual Number Card (個人番号カード), issues it at the counter (交付: the card made with its keys,
 * the certificates asked of JPKI, the PINs the holder types), hands it over, suspends it when lost
 * (一時停止) and lifts the suspension, revokes it (廃止), reissues (再交付) and renews (更新) it,
 * unlocks a locked PIN, writes a change on it (追記) and issues a new signing certificate onto it. Every route is a POST whose body names the card: no identifier in a URL.
 *
 * The PIN and the signing password travel only in the bodies of the operations that set them (over
 * the node's mutual TLS), are used to seal the card, and are never stored or logged.
 */
import { z } from 'zod';
import { ResidentRecordCode } from '../domain/identifiers/resident-record-code.ts';

const IsoDate = z.iso.date('must be a date YYYY-MM-DD');

/** J-LIS's card id: 16 upper-case hexadecimal digits, random. */
export const CardId = z.string().regex(/^[0-9A-F]{16}$/, 'must be a card id (16 hexadecimal digits)');

/** Who at the municipality did it (a clerk's user id), for the records; never a person's name. */
const ClerkId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be a clerk id (letters, digits, . _ : -)')
  .optional();

/** The 4-digit PIN for user authentication and the card-face applications. */
export const CardPin = z.string().regex(/^[0-9]{4}$/, 'must be 4 digits');
/** The signing password: 6 to 16 upper-case letters and digits. */
export const SigningPassword = z
  .string()
  .regex(/^[A-Z0-9]{6,16}$/, 'must be 6–16 upper-case letters and digits');

/** The card file, base64: what the clerk writes to the path the holder's card lives at. */
const CardArchive = z
  .string()
  .min(1)
  .max(200_000)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

export const CardState = z.enum(['applied', 'issued', 'delivered', 'suspended', 'revoked']);
export type CardState = z.infer<typeof CardState>;

export const CardApplication = z.object({
  residentRecordCode: ResidentRecordCode,
  /** The day the application was received; today when omitted. */
  appliedOn: IsoDate.optional(),
  clerkId: ClerkId,
});
export type CardApplication = z.infer<typeof CardApplication>;

/** The secrets the holder types at the counter. Without a signing password, no signing certificate. */
const Secrets = {
  pin: CardPin,
  signingPassword: SigningPassword.optional(),
};

export const CardIssuance = z.object({ cardId: CardId, ...Secrets, clerkId: ClerkId });
export type CardIssuance = z.infer<typeof CardIssuance>;

export const CardDelivery = z.object({ cardId: CardId, clerkId: ClerkId });
export type CardDelivery = z.infer<typeof CardDelivery>;

/** 一時停止: the holder reported the card lost (or stolen). */
export const CardSuspension = z.object({
  cardId: CardId,
  reason: z.enum(['loss', 'theft']),
  clerkId: ClerkId,
});
export type CardSuspension = z.infer<typeof CardSuspension>;

/**
 * 一時停止の解除: the card found again, brought with the holder; its certificates on hold are released
 * (the same ones, valid again). The PIN and signing password only for a card whose certificates were
 * revoked instead (suspended before holds): it is re-keyed under them.
 */
export const CardSuspensionLift = z.object({
  cardId: CardId,
  card: CardArchive,
  pin: CardPin.optional(),
  signingPassword: SigningPassword.optional(),
  clerkId: ClerkId,
});
export type CardSuspensionLift = z.infer<typeof CardSuspensionLift>;

/** 廃止 (返納): for good. */
export const CardRevocation = z.object({
  cardId: CardId,
  reason: z.enum(['death', 'return', 'damage', 'loss', 'withdrawn']),
  clerkId: ClerkId,
});
export type CardRevocation = z.infer<typeof CardRevocation>;

/** 再交付: a new card in place of one lost or damaged; the old one is revoked. */
export const CardReissue = z.object({
  cardId: CardId,
  reason: z.enum(['loss', 'damage']),
  ...Secrets,
  clerkId: ClerkId,
});
export type CardReissue = z.infer<typeof CardReissue>;

/** 更新: a new card from three months before the old one expires. */
export const CardRenewal = z.object({ cardId: CardId, ...Secrets, clerkId: ClerkId });
export type CardRenewal = z.infer<typeof CardRenewal>;

/**
 * 暗証番号のロック解除・再設定, with the card at the counter: with the secret the holder still knows
 * (`currentSecret`), its counter is reset (and the secret changed to `newSecret` if given); without
 * it (forgotten), the card is re-keyed under a new PIN and password, with new certificates.
 */
export const PinUnlock = z
  .object({
    cardId: CardId,
    card: CardArchive,
    which: z.enum(['pin', 'password']),
    currentSecret: z.string().min(1).max(16).optional(),
    newSecret: z.string().min(1).max(16).optional(),
    /** When re-keying: the PIN and signing password of the re-keyed card. */
    pin: CardPin.optional(),
    signingPassword: SigningPassword.optional(),
    clerkId: ClerkId,
  })
  .refine((u) => u.currentSecret !== undefined || u.pin !== undefined, {
    message: 'give the current secret, or the new PIN (and signing password) to re-key the card',
    path: ['pin'],
  });
export type PinUnlock = z.infer<typeof PinUnlock>;

/**
 * 券面事項の追記: after a move or a name change, the card brought to the counter takes the identity
 * record's new values (the old ones kept as 追記 history); the holder types the 4-digit PIN.
 */
export const CardEndorsement = z.object({
  cardId: CardId,
  card: CardArchive,
  pin: CardPin,
  clerkId: ClerkId,
});
export type CardEndorsement = z.infer<typeof CardEndorsement>;

/**
 * 署名用電子証明書の発行 onto the same card: a new signing key made in the card brought to the counter,
 * certified with the identity record's four information, under the signing password the holder sets.
 */
export const SigningCertificateIssuance = z.object({
  cardId: CardId,
  card: CardArchive,
  signingPassword: SigningPassword,
  clerkId: ClerkId,
});
export type SigningCertificateIssuance = z.infer<typeof SigningCertificateIssuance>;

export const CardLookup = z.object({ cardId: CardId, clerkId: ClerkId });
export type CardLookup = z.infer<typeof CardLookup>;

export const CardEventView = z.object({
  at: z.string(),
  operation: z.string(),
  actor: z.string(),
  clerkId: z.string().optional(),
  outcome: z.enum(['done', 'refused', 'failed']),
  fromState: CardState.optional(),
  toState: CardState.optional(),
  reason: z.string().optional(),
  errorCode: z.string().optional(),
});
export type CardEventView = z.infer<typeof CardEventView>;

/** A card as J-LIS knows it: state, dates, certificates' serials; never its contents. */
export const CardView = z.object({
  cardId: CardId,
  residentRecordCode: z.string(),
  state: CardState,
  stateReason: z.string().optional(),
  /** Past its expiry day (the state stays as it was: an expired card is simply not valid). */
  expired: z.boolean(),
  appliedOn: IsoDate,
  issuedOn: IsoDate.optional(),
  expiresOn: IsoDate.optional(),
  /** The user-authentication certificate's last valid day; a signing certificate never outlives it. */
  certificatesExpireOn: IsoDate.optional(),
  /** `held`: on hold (一時保留) while the card is suspended. */
  certificates: z.enum(['none', 'valid', 'held', 'revoked']),
  signingSerial: z.string().optional(),
  authenticationSerial: z.string().optional(),
  replacesCardId: CardId.optional(),
  replacedByCardId: CardId.optional(),
  events: z.array(CardEventView).optional(),
});
export type CardView = z.infer<typeof CardView>;

/** A card made or changed at the counter: its view, and the card file (base64) to write. */
export const CardIssued = z.object({ card: CardView, archive: CardArchive });
export type CardIssued = z.infer<typeof CardIssued>;
