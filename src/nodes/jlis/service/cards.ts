/**
 * The Individual Number Card's lifecycle at J-LIS (個人番号カード): application (申請), issuance at the
 * municipality's counter (交付: the virtual card made with its own keys, the certificates asked of
 * JPKI through `JpkiIssuer`), delivery (交付済), suspension when lost (一時停止) and its lifting,
 * revocation (廃止), reissue (再交付), renewal (更新), the municipality's PIN unlock, and after a move
 * or a name change the card kept in use: the change written on it (券面事項の追記) and a new signing
 * certificate issued onto it (署名用電子証明書の発行).
 *
 * The states and their transitions are `TRANSITIONS` below; any other is ERR_CARD_STATE. Every
 * operation is recorded (`card_events`), done, refused or failed: a state change and its record in
 * one transaction, a refusal or failure on its own. J-LIS keeps the card's state, dates and the
 * certificates' serials, never a key, a PIN or the card file: the card is the holder's.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  DEFAULT_KDF,
  VirtualCard,
  type CardFaceAssist,
  type CertifyAnswer,
  type KdfCost,
} from '../../../card/virtual-card.ts';
import type {
  CardApplication,
  CardDelivery,
  CardEndorsement,
  CardIssuance,
  CardIssued,
  CardLookup,
  CardRenewal,
  CardReissue,
  CardRevocation,
  CardSuspension,
  CardSuspensionLift,
  CardView,
  PinUnlock,
  SigningCertificateIssuance,
} from '../../../protocol/cards.ts';
import { jstDate, type Clock } from '../../../shared/clock.ts';
import { HTTP_STATUS, RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import {
  cardTerms,
  endOfJstDay,
  loadCardRules,
  signingCertificateExpiresOn,
  type CardRules,
} from '../card-rules.ts';
import type { FourInformation, JpkiIssuer, JpkiRevocationReason } from '../jpki/port.ts';
import type { CardEvent, CardOperation, CardRow, CardState, IdentityRecord, JlisStore } from '../store.ts';

export interface CardServiceDeps {
  store: JlisStore;
  clock: Clock;
  logger: Logger;
  /** J-LIS's JPKI certification authority; without it, issuing and re-keying fail (ERR_UPSTREAM_UNAVAILABLE). */
  jpki?: JpkiIssuer | undefined;
  /** The expiry rules; `card-rules.yaml` when omitted. */
  rules?: CardRules;
  /** scrypt's cost for the cards made (tests pass a cheap one). */
  kdf?: KdfCost;
  /** Where card ids come from (tests may fix them). */
  newCardId?: () => string;
}

/** Who asks: the caller's party (its certificate), and the clerk its request names. */
export interface CardActor {
  party: string;
}

/** From which states each operation may start, and where it leaves the card. */
export const TRANSITIONS = {
  issue: { from: ['applied'], to: 'issued' },
  deliver: { from: ['issued'], to: 'delivered' },
  suspend: { from: ['delivered'], to: 'suspended' },
  lift: { from: ['suspended'], to: 'delivered' },
  revoke: { from: ['applied', 'issued', 'delivered', 'suspended'], to: 'revoked' },
  reissue: { from: ['delivered', 'suspended'], to: 'revoked' },
  renew: { from: ['delivered'], to: 'revoked' },
  unlock_pin: { from: ['delivered'], to: 'delivered' },
  endorse: { from: ['delivered'], to: 'delivered' },
  issue_signing: { from: ['delivered'], to: 'delivered' },
} as const satisfies Partial<Record<CardOperation, { from: readonly CardState[]; to: CardState }>>;

/**
 * How long an operation's claim on its card holds: far beyond any operation (key generation, the
 * CA, scrypt; the clerk's client gives up after 60 s), so that a J-LIS that stopped mid-operation
 * does not keep the card for long.
 */
const CLAIM_MS = 120_000;

/** An operation's claim on cards: its token, and the cards it holds (released when it ends). */
interface Claim {
  token: string;
  held: string[];
}

/** A renewal is taken from this many months before the card's expiry (有効期限の3か月前から). */
export const RENEWAL_MONTHS = 3;

export class CardService {
  private readonly rules: CardRules;
  private readonly newCardId: () => string;

  constructor(private readonly deps: CardServiceDeps) {
    this.rules = deps.rules ?? loadCardRules();
    this.newCardId = deps.newCardId ?? (() => randomBytes(8).toString('hex').toUpperCase());
  }

  /**
   * 申請: a resident applies for a card. Errors: ERR_UNKNOWN_RESIDENT, ERR_RESIDENT_STATE (moved out
   * or deceased), ERR_CARD_STATE (the resident holds a card already: reissue or renew it),
   * ERR_VALIDATION (an application date in the future).
   */
  apply(input: CardApplication, actor: CardActor): Promise<CardView> {
    return this.recorded('apply', undefined, actor, input.clerkId, async (event) => {
      const today = this.today();
      const appliedOn = input.appliedOn ?? today;
      if (appliedOn > today) {
        throw new RenkeiError('ERR_VALIDATION', 'The application date is in the future.', {
          issues: [{ path: 'appliedOn', message: 'must not be in the future' }],
        });
      }
      await this.livingResident(input.residentRecordCode);
      const live = await this.deps.store.findLiveCard(input.residentRecordCode);
      if (live) {
        throw new RenkeiError(
          'ERR_CARD_STATE',
          `The resident holds a card already (${live.state}); reissue or renew it instead.`,
          { cardId: live.cardId, state: live.state },
        );
      }
      const card: CardRow = {
        cardId: this.newCardId(),
        residentRecordCode: input.residentRecordCode,
        state: 'applied',
        appliedOn,
        certificates: 'none',
        updatedAt: this.deps.clock.now(),
      };
      await this.deps.store.insertCard(card, event({ cardId: card.cardId, toState: 'applied' }));
      return this.view(card);
    });
  }

  /**
   * 交付: the card made at the counter, its key pairs generated inside it and certified by JPKI, sealed
   * under the PIN and signing password the holder types. Errors: ERR_UNKNOWN_CARD, ERR_CARD_STATE,
   * ERR_RESIDENT_STATE, ERR_UPSTREAM_UNAVAILABLE (JPKI), ERR_VALIDATION.
   */
  issue(input: CardIssuance, actor: CardActor): Promise<CardIssued> {
    return this.recorded('issue', input.cardId, actor, input.clerkId, async (event, claim) => {
      const card = await this.cardIn(input.cardId, 'issue', claim);
      const resident = await this.livingResident(card.residentRecordCode);
      const made = await this.makeCard(card.cardId, resident, this.today(), input);
      const changes: Partial<CardRow> = { ...made.row, state: 'issued' };
      return this.issued(
        await this.changeOrRevoke(card, changes, event(transition(card, 'issued'))),
        made.card,
      );
    });
  }

  /** 交付済: the holder received the card. Errors: ERR_UNKNOWN_CARD, ERR_CARD_STATE. */
  deliver(input: CardDelivery, actor: CardActor): Promise<CardView> {
    return this.recorded('deliver', input.cardId, actor, input.clerkId, async (event) => {
      const card = await this.cardIn(input.cardId, 'deliver');
      return this.change(card, { state: 'delivered' }, event(transition(card, 'delivered')));
    });
  }

  /**
   * 一時停止: the card reported lost or stolen (the 24-hour call centre). Its use stops and both
   * certificates are put on hold at once (電子証明書の一時保留), as the real service does on a loss
   * report: a finder can neither log in nor sign from that moment (the CRL lists them with
   * certificateHold, OCSP answers revoked), yet the holder who finds the card gets the same
   * certificates back at the lift. Errors: ERR_UNKNOWN_CARD, ERR_CARD_STATE, ERR_UPSTREAM_UNAVAILABLE
   * (nothing changed).
   */
  suspend(input: CardSuspension, actor: CardActor): Promise<CardView> {
    return this.recorded('suspend', input.cardId, actor, input.clerkId, async (event, claim) => {
      const card = await this.cardIn(input.cardId, 'suspend', claim);
      const jpki = this.jpki();
      const held = card.certificates === 'valid' ? await upstream(() => jpki.holdForCard(card.cardId)) : [];
      return this.change(
        card,
        {
          state: 'suspended',
          stateReason: input.reason,
          ...(held.length > 0 ? { certificates: 'held' as const } : {}),
        },
        event({ ...transition(card, 'suspended'), reason: input.reason }),
      );
    });
  }

  /**
   * 一時停止の解除: the card found again, brought to the counter. Its certificates on hold are released:
   * the same certificates, valid again (absent from the next CRL, good in OCSP); the card file is given
   * back unchanged. One revoked during the hold stays revoked (after a move, a new signing certificate
   * is issued as usual). A card suspended before holds existed (migration `0016-certificate-holds`) has
   * its certificates revoked: it is re-keyed under the PIN and password the holder types, with new
   * certificates, as then. Errors: ERR_UNKNOWN_CARD, ERR_CARD_STATE (not suspended; certificates
   * revoked and no new PIN given), ERR_RESIDENT_STATE, ERR_VALIDATION (not this card, or not the
   * certificates J-LIS issued to it), ERR_UPSTREAM_UNAVAILABLE.
   */
  lift(input: CardSuspensionLift, actor: CardActor): Promise<CardIssued> {
    return this.recorded('lift', input.cardId, actor, input.clerkId, async (event, claim) => {
      const card = await this.cardIn(input.cardId, 'lift', claim);
      const virtual = this.holdersCard(input.card, card.cardId);
      if (card.certificates === 'held') {
        await this.livingResident(card.residentRecordCode);
        const carried = await virtual.readCertificate('authentication');
        if (carried.serial !== card.authenticationSerial) {
          throw new RenkeiError(
            'ERR_VALIDATION',
            'The card brought does not carry the certificates J-LIS issued to this card.',
          );
        }
        const jpki = this.jpki();
        const released = await upstream(() => jpki.releaseForCard(card.cardId));
        const changes: Partial<CardRow> = {
          state: 'delivered',
          stateReason: undefined,
          certificates: released.includes('authentication') ? 'valid' : 'revoked',
        };
        return this.issued(
          await this.changeOrRevoke(
            card,
            changes,
            event({ ...transition(card, 'delivered'), reason: 'released' }),
          ),
          virtual,
        );
      }
      if (input.pin === undefined) {
        throw new RenkeiError(
          'ERR_CARD_STATE',
          'The card’s certificates were revoked, not held (suspended before holds, or revoked since): lift it with a new PIN and signing password, for new keys.',
          { certificates: card.certificates },
        );
      }
      const row = await this.rekey(card, virtual, { pin: input.pin, signingPassword: input.signingPassword });
      const changes: Partial<CardRow> = { ...row, state: 'delivered', stateReason: undefined };
      return this.issued(
        await this.changeOrRevoke(
          card,
          changes,
          event({ ...transition(card, 'delivered'), reason: 'rekeyed' }),
        ),
        virtual,
      );
    });
  }

  /**
   * 廃止: for good, on death, return (返納), damage, a loss not found, or a withdrawn application; the
   * certificates, when in force or on hold, are revoked for good: `death`; `loss` (keyCompromise) for
   * a card lost and not found (its certificates on hold, or the reason given); else `card_revoked`.
   * Errors: ERR_UNKNOWN_CARD, ERR_CARD_STATE (revoked already), ERR_UPSTREAM_UNAVAILABLE.
   */
  revoke(input: CardRevocation, actor: CardActor): Promise<CardView> {
    return this.recorded('revoke', input.cardId, actor, input.clerkId, async (event, claim) => {
      const card = await this.cardIn(input.cardId, 'revoke', claim);
      if (card.certificates === 'valid' || card.certificates === 'held') {
        await this.revokeCertificates(
          card.cardId,
          input.reason === 'death'
            ? 'death'
            : input.reason === 'loss' || card.certificates === 'held'
              ? 'loss'
              : 'card_revoked',
        );
      }
      return this.change(
        card,
        {
          state: 'revoked',
          stateReason: input.reason,
          certificates: card.certificates === 'none' ? 'none' : 'revoked',
        },
        event({ ...transition(card, 'revoked'), reason: input.reason }),
      );
    });
  }

  /**
   * 再交付: a new card (new id, new keys, new certificates) in place of one lost or damaged; the old
   * one is revoked (reason `reissue`) with its certificates. Errors: ERR_UNKNOWN_CARD, ERR_CARD_STATE,
   * ERR_RESIDENT_STATE, ERR_UPSTREAM_UNAVAILABLE, ERR_VALIDATION.
   */
  reissue(input: CardReissue, actor: CardActor): Promise<CardIssued> {
    return this.recorded('reissue', input.cardId, actor, input.clerkId, async (event, claim) => {
      const card = await this.cardIn(input.cardId, 'reissue', claim);
      return this.replace(card, 'reissue', input, event);
    });
  }

  /**
   * 更新: a new card from three months before the old one's expiry (or after it); the old one is
   * revoked (reason `renewal`). Errors: ERR_UNKNOWN_CARD, ERR_CARD_STATE (too early: details say from
   * when), ERR_RESIDENT_STATE, ERR_UPSTREAM_UNAVAILABLE, ERR_VALIDATION.
   */
  renew(input: CardRenewal, actor: CardActor): Promise<CardIssued> {
    return this.recorded('renew', input.cardId, actor, input.clerkId, async (event, claim) => {
      const card = await this.cardIn(input.cardId, 'renew', claim);
      const from = addMonths(card.expiresOn ?? this.today(), -RENEWAL_MONTHS);
      if (this.today() < from) {
        throw new RenkeiError(
          'ERR_CARD_STATE',
          `A card is renewed from ${RENEWAL_MONTHS} months before it expires.`,
          {
            renewableFrom: from,
          },
        );
      }
      return this.replace(card, 'renewal', input, event);
    });
  }

  /**
   * 暗証番号のロック解除: with the secret the holder still knows, its counter reset (and the secret
   * changed when a new one is given); without it, the card re-keyed under a new PIN and password with
   * new certificates, the old ones revoked (`request`). Errors: ERR_UNKNOWN_CARD, ERR_CARD_STATE,
   * ERR_WRONG_PIN (the current secret is wrong), ERR_VALIDATION, ERR_UPSTREAM_UNAVAILABLE.
   */
  unlockPin(input: PinUnlock, actor: CardActor): Promise<CardIssued> {
    return this.recorded('unlock_pin', input.cardId, actor, input.clerkId, async (event, claim) => {
      const card = await this.cardIn(input.cardId, 'unlock_pin', claim);
      const virtual = this.holdersCard(input.card, card.cardId);
      if (input.currentSecret !== undefined) {
        await virtual.unlockWithKnownSecret(input.which, input.currentSecret, input.newSecret);
        await this.deps.store.recordCardEvent(
          event({ ...transition(card, card.state), reason: input.which }),
        );
        return this.issued(card, virtual);
      }
      const pin = input.pin ?? '';
      const row = await this.rekey(card, virtual, { pin, signingPassword: input.signingPassword }, 'request');
      const view = await this.changeOrRevoke(
        card,
        row,
        event({ ...transition(card, card.state), reason: input.which }),
      );
      return this.issued(view, virtual);
    });
  }

  /**
   * 券面事項の追記: after a move or a name change the card stays in use; the municipality writes the
   * change on it. The card brought to the counter takes today's identity record on its card face
   * (each changed value kept as a line of 追記 history) and its input assist, the holder typing the
   * 4-digit PIN. The certificates are not touched: the change revoked the signing one already
   * (`issueSigningCertificate` gives a new one). Errors: ERR_UNKNOWN_CARD, ERR_CARD_STATE (not
   * delivered; the card shows the record already), ERR_RESIDENT_STATE (deceased, moved out),
   * ERR_WRONG_PIN, ERR_PIN_LOCKED, ERR_VALIDATION (not this card).
   */
  endorse(input: CardEndorsement, actor: CardActor): Promise<CardIssued> {
    return this.recorded('endorse', input.cardId, actor, input.clerkId, async (event, claim) => {
      const card = await this.cardIn(input.cardId, 'endorse', claim);
      const virtual = this.holdersCard(input.card, card.cardId);
      const resident = await this.livingResident(card.residentRecordCode);
      const changed = await virtual.endorse(input.pin, {
        cardFaceAssist: assist(resident),
        endorsedOn: this.today(),
      });
      if (changed.length === 0) {
        throw new RenkeiError(
          'ERR_CARD_STATE',
          'The card shows the identity record already: the record did not change since.',
        );
      }
      const view = await this.change(
        card,
        {},
        event({ ...transition(card, card.state), reason: changed.map((f) => SHORT[f]).join(',') }),
      );
      return this.issued(view, virtual);
    });
  }

  /**
   * 署名用電子証明書の発行 onto the same card, at the counter: after a move, a name change or a
   * correction revoked the signing certificate (its four information are out of date), a new signing
   * key made inside the card brought, certified with today's record and linked to the card's
   * user-authentication certificate, sealed under the signing password the holder sets. Its expiry
   * is computed from its own issuance by the rules (`signingCertificateExpiresOn`): the 5th birthday
   * after today, never beyond the card nor, under the rule in force, the user-authentication
   * certificate (`certificatesExpireOn`, which it leaves as it is); JPKI records it (notAfter). Errors: ERR_UNKNOWN_CARD, ERR_CARD_STATE (not delivered; its certificates revoked; its
   * signing certificate in force: the record did not change), ERR_RESIDENT_STATE (deceased, moved
   * out, under 15), ERR_VALIDATION, ERR_UPSTREAM_UNAVAILABLE.
   */
  issueSigningCertificate(input: SigningCertificateIssuance, actor: CardActor): Promise<CardIssued> {
    return this.recorded('issue_signing', input.cardId, actor, input.clerkId, async (event, claim) => {
      const card = await this.cardIn(input.cardId, 'issue_signing', claim);
      const virtual = this.holdersCard(input.card, card.cardId);
      const resident = await this.livingResident(card.residentRecordCode);
      const jpki = this.jpki();
      if (card.certificates !== 'valid' || card.authenticationSerial === undefined) {
        throw new RenkeiError(
          'ERR_CARD_STATE',
          'The card’s certificates are not in force; re-key it (PIN unlock) instead.',
          { certificates: card.certificates },
        );
      }
      if (!cardTerms(this.rules, resident.dateOfBirth, this.today()).signingCertificate) {
        throw new RenkeiError('ERR_RESIDENT_STATE', 'No signing certificate is issued to a holder under 15.');
      }
      if (
        card.signingSerial !== undefined &&
        (await upstream(() => jpki.certificateStatus(card.signingSerial!))) === 'valid'
      ) {
        throw new RenkeiError(
          'ERR_CARD_STATE',
          'The card’s signing certificate is in force: the identity record did not change since it was issued.',
        );
      }
      const signingExpiresOn = signingCertificateExpiresOn(this.rules, resident.dateOfBirth, this.today(), {
        cardExpiresOn: card.expiresOn ?? this.today(),
        authenticationExpiresOn: card.certificatesExpireOn,
      });
      const notAfter = endOfJstDay(signingExpiresOn);
      const issued = await virtual.replaceSigningKey({
        signingPassword: input.signingPassword,
        kdf: this.deps.kdf ?? DEFAULT_KDF,
        certify: (signingPublicKeySpki) =>
          upstream(() =>
            jpki.issueSigning({
              residentRecordCode: resident.residentRecordCode,
              cardId: card.cardId,
              fourInformation: fourInformation(resident),
              signingPublicKeySpki,
              authenticationSerial: card.authenticationSerial!,
              notAfter,
            }),
          ),
      });
      const view = await this.changeOrRevoke(
        card,
        { signingSerial: issued.serial },
        event(transition(card, card.state)),
      );
      return this.issued(view, virtual);
    });
  }

  /** A card as J-LIS knows it, with every operation recorded on it. Errors: ERR_UNKNOWN_CARD. */
  show(input: CardLookup, actor: CardActor): Promise<CardView> {
    return this.recorded('show', input.cardId, actor, input.clerkId, async (event) => {
      const card = await this.findCard(input.cardId);
      await this.deps.store.recordCardEvent(event({ cardId: card.cardId }));
      const events = await this.deps.store.listCardEvents(card.cardId, 1000);
      return {
        ...(await this.view(card)),
        events: events.map((e) => ({
          at: e.at.toISOString(),
          operation: e.operation,
          actor: e.actor,
          outcome: e.outcome,
          ...(e.clerkId === undefined ? {} : { clerkId: e.clerkId }),
          ...(e.fromState === undefined ? {} : { fromState: e.fromState }),
          ...(e.toState === undefined ? {} : { toState: e.toState }),
          ...(e.reason === undefined ? {} : { reason: e.reason }),
          ...(e.errorCode === undefined ? {} : { errorCode: e.errorCode }),
        })),
      };
    });
  }

  /**
   * Run an operation and record it whatever happens: `body` records its success itself (in the
   * transaction of its change, through the `event` it is given); a refusal (a 4xx code) or a failure
   * is recorded here. The claim `body` takes on its card (`cardIn`) is released here, whatever the end.
   */
  private async recorded<T>(
    operation: CardOperation,
    cardId: string | undefined,
    actor: CardActor,
    clerkId: string | undefined,
    body: (event: (fields: Partial<CardEvent>) => CardEvent, claim: Claim) => Promise<T>,
  ): Promise<T> {
    const claim: Claim = { token: randomUUID(), held: [] };
    const base = (): CardEvent => ({
      at: this.deps.clock.now(),
      operation,
      cardId,
      actor: actor.party,
      clerkId,
      outcome: 'done',
    });
    try {
      const result = await body((fields) => ({ ...base(), ...fields }), claim);
      this.deps.logger.info({ operation }, 'card operation');
      return result;
    } catch (error) {
      const renkei =
        error instanceof RenkeiError ? error : new RenkeiError('ERR_INTERNAL', 'The card operation failed.');
      const known = cardId !== undefined && (await this.deps.store.findCard(cardId)) !== undefined;
      await this.deps.store.recordCardEvent({
        ...base(),
        cardId: known ? cardId : undefined,
        outcome: HTTP_STATUS[renkei.code] < 500 ? 'refused' : 'failed',
        errorCode: renkei.code,
      });
      this.deps.logger.info({ operation, code: renkei.code }, 'card operation refused or failed');
      throw error;
    } finally {
      for (const held of claim.held) await this.deps.store.releaseCard(held, claim.token);
    }
  }

  private async replace(
    card: CardRow,
    reason: 'reissue' | 'renewal',
    secrets: { pin: string; signingPassword?: string | undefined },
    event: (fields: Partial<CardEvent>) => CardEvent,
  ): Promise<CardIssued> {
    const resident = await this.livingResident(card.residentRecordCode);
    // A card lost and replaced without being found: its held certificates are revoked as compromised.
    if (card.certificates === 'held') await this.revokeCertificates(card.cardId, 'loss');
    if (card.certificates === 'valid') await this.revokeCertificates(card.cardId, 'reissue');
    const today = this.today();
    const cardId = this.newCardId();
    const made = await this.makeCard(cardId, resident, today, secrets);
    const now = this.deps.clock.now();
    const replacement: CardRow = {
      cardId,
      residentRecordCode: card.residentRecordCode,
      state: 'issued',
      appliedOn: today,
      ...made.row,
      replacesCardId: card.cardId,
      updatedAt: now,
    };
    const done = await this.deps.store.replaceCard(
      {
        cardId: card.cardId,
        from: card.state,
        changes: {
          state: 'revoked',
          stateReason: reason,
          certificates: card.certificates === 'none' ? 'none' : 'revoked',
          updatedAt: now,
        },
        event: event({ ...transition(card, 'revoked'), reason }),
      },
      replacement,
      event({ cardId, toState: 'issued', reason }),
    );
    if (!done) {
      await this.revokeCertificates(cardId, 'card_revoked');
      throw raced();
    }
    return this.issued(replacement, made.card);
  }

  /** A new virtual card for `resident`, issued on `issuedOn` under the rules in force that day. */
  private async makeCard(
    cardId: string,
    resident: IdentityRecord,
    issuedOn: string,
    secrets: { pin: string; signingPassword?: string | undefined },
  ): Promise<{
    card: VirtualCard;
    row: Pick<CardRow, 'certificates'> & Partial<CardRow>;
  }> {
    const terms = cardTerms(this.rules, resident.dateOfBirth, issuedOn);
    let serials: { signing?: string; authentication: string } | undefined;
    const card = await VirtualCard.create({
      cardId,
      issuedOn,
      cardFace: { ...face(resident), expiresOn: terms.cardExpiresOn, photo: 'placeholder' },
      cardFaceAssist: assist(resident),
      residentRecordCode: resident.residentRecordCode,
      pin: secrets.pin,
      signingPassword: terms.signingCertificate ? secrets.signingPassword : undefined,
      kdf: this.deps.kdf ?? DEFAULT_KDF,
      certify: async (keys) => {
        const answer = await this.certify(cardId, resident, keys, terms.certificatesExpireOn, {
          signing: terms.signingCertificate && secrets.signingPassword !== undefined,
        });
        serials = {
          authentication: answer.authentication.serial,
          ...(answer.signing ? { signing: answer.signing.serial } : {}),
        };
        return answer;
      },
    });
    return {
      card,
      row: {
        issuedOn,
        expiresOn: terms.cardExpiresOn,
        certificatesExpireOn: terms.certificatesExpireOn,
        certificates: 'valid',
        authenticationSerial: serials?.authentication,
        signingSerial: serials?.signing,
      },
    };
  }

  /**
   * Re-key a card J-LIS issued (found again, or a forgotten secret): its certificates revoked if still
   * in force, new key pairs made inside it and certified to the holder's fifth birthday from today,
   * never beyond the card's own expiry; the card face from today's record.
   */
  private async rekey(
    card: CardRow,
    virtual: VirtualCard,
    secrets: { pin: string; signingPassword?: string | undefined },
    revokeReason: JpkiRevocationReason = 'request',
  ): Promise<Partial<CardRow>> {
    const resident = await this.livingResident(card.residentRecordCode);
    if (card.certificates === 'valid') await this.revokeCertificates(card.cardId, revokeReason);
    const today = this.today();
    const terms = cardTerms(this.rules, resident.dateOfBirth, today);
    const expiresOn = card.expiresOn ?? terms.cardExpiresOn;
    const certificatesExpireOn =
      terms.certificatesExpireOn < expiresOn ? terms.certificatesExpireOn : expiresOn;
    let serials: { signing?: string; authentication: string } | undefined;
    await virtual.rekey({
      cardFace: { ...face(resident), expiresOn, photo: 'placeholder' },
      cardFaceAssist: assist(resident),
      residentRecordCode: resident.residentRecordCode,
      pin: secrets.pin,
      signingPassword: terms.signingCertificate ? secrets.signingPassword : undefined,
      kdf: this.deps.kdf ?? DEFAULT_KDF,
      certify: async (keys) => {
        const answer = await this.certify(card.cardId, resident, keys, certificatesExpireOn, {
          signing: terms.signingCertificate && secrets.signingPassword !== undefined,
        });
        serials = {
          authentication: answer.authentication.serial,
          ...(answer.signing ? { signing: answer.signing.serial } : {}),
        };
        return answer;
      },
    });
    return {
      certificates: 'valid',
      certificatesExpireOn,
      authenticationSerial: serials?.authentication,
      signingSerial: serials?.signing,
      updatedAt: this.deps.clock.now(),
    };
  }

  /**
   * Ask JPKI for the pair. The port issues both certificates always; when no signing certificate is
   * wanted (a holder under 15, or one who declined it) the signing one is revoked at once (`request`)
   * and left out of the card. The issue's note asks the port for an authentication-only issuance.
   */
  private async certify(
    cardId: string,
    resident: IdentityRecord,
    keys: { authenticationPublicKeySpki: Uint8Array; signingPublicKeySpki: Uint8Array },
    certificatesExpireOn: string,
    wanted: { signing: boolean },
  ): Promise<CertifyAnswer> {
    const jpki = this.jpki();
    const issued = await upstream(() =>
      jpki.issuePair({
        residentRecordCode: resident.residentRecordCode,
        cardId,
        fourInformation: fourInformation(resident),
        ...keys,
        notAfter: endOfJstDay(certificatesExpireOn),
      }),
    );
    if (wanted.signing) return issued;
    await upstream(() => jpki.revokeForCard(cardId, 'request', 'signing'));
    return { authentication: issued.authentication };
  }

  private async revokeCertificates(cardId: string, reason: JpkiRevocationReason): Promise<void> {
    const jpki = this.jpki();
    await upstream(() => jpki.revokeForCard(cardId, reason, 'both'));
  }

  private jpki(): JpkiIssuer {
    if (!this.deps.jpki) {
      throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', 'No JPKI certification authority is configured.');
    }
    return this.deps.jpki;
  }

  /** Change the card from the state it was read in, with its record; ERR_CARD_STATE if it moved meanwhile. */
  private async change(card: CardRow, changes: Partial<CardRow>, event: CardEvent): Promise<CardView> {
    const all = { ...changes, updatedAt: this.deps.clock.now() };
    if (!(await this.deps.store.updateCard(card.cardId, card.state, all, event))) throw raced();
    return this.view({ ...card, ...all });
  }

  /**
   * `change`, after certificates were issued onto the card: if it left its state meanwhile (its
   * claim keeps clerks out, so only a death recorded meanwhile, or a claim lapsed), the certificates
   * just issued are revoked, never left in force on a card that is not in use.
   */
  private async changeOrRevoke(
    card: CardRow,
    changes: Partial<CardRow>,
    event: CardEvent,
  ): Promise<CardView> {
    const all = { ...changes, updatedAt: this.deps.clock.now() };
    if (await this.deps.store.updateCard(card.cardId, card.state, all, event)) {
      return this.view({ ...card, ...all });
    }
    await this.revokeCertificates(card.cardId, 'card_revoked');
    throw raced();
  }

  private async issued(card: CardRow | CardView, virtual: VirtualCard): Promise<CardIssued> {
    return {
      card: 'expired' in card ? card : await this.view(card),
      archive: Buffer.from(virtual.toBytes()).toString('base64'),
    };
  }

  /**
   * The card, which must be in a state `operation` starts from; with `claim`, claimed for this
   * operation until it ends (`recorded` releases it). Two operations on one card at once (two re-keys
   * at two counters, a re-key and a new signing certificate) would otherwise each revoke what the
   * other issued, each answer success, and leave a clerk handing over a card whose certificates are
   * revoked; the later one is refused (ERR_CARD_STATE) before it revokes or issues anything. We
   * considered a compare-and-set at the end only (on the serials), but by then the loser has already
   * revoked the winner's certificates through JPKI.
   */
  private async cardIn(cardId: string, operation: keyof typeof TRANSITIONS, claim?: Claim): Promise<CardRow> {
    const card = await this.findCard(cardId);
    const allowed: readonly CardState[] = TRANSITIONS[operation].from;
    if (!allowed.includes(card.state)) {
      throw new RenkeiError(
        'ERR_CARD_STATE',
        `A card that is ${card.state} cannot be ${PAST[operation]}; it must be ${allowed.join(' or ')}.`,
        { state: card.state, allowed },
      );
    }
    if (claim) {
      const now = this.deps.clock.now();
      const until = new Date(now.getTime() + CLAIM_MS);
      if (!(await this.deps.store.claimCard(card.cardId, card.state, { token: claim.token, until }, now))) {
        throw new RenkeiError(
          'ERR_CARD_STATE',
          'Another operation on this card is under way (or the card changed); look at it again when it ends.',
        );
      }
      claim.held.push(card.cardId);
    }
    return card;
  }

  private async findCard(cardId: string): Promise<CardRow> {
    const card = await this.deps.store.findCard(cardId);
    if (!card) throw new RenkeiError('ERR_UNKNOWN_CARD', 'No card has this card id.');
    return card;
  }

  private async livingResident(residentRecordCode: string): Promise<IdentityRecord> {
    const resident = await this.deps.store.findResident(residentRecordCode);
    if (!resident)
      throw new RenkeiError('ERR_UNKNOWN_RESIDENT', 'No resident has this resident record code.');
    if (resident.status !== 'resident') {
      throw new RenkeiError(
        'ERR_RESIDENT_STATE',
        `No card is made for a resident who is ${resident.status.replace('_', ' ')}.`,
      );
    }
    return resident;
  }

  /** The holder's card brought to the counter, which must be this card. */
  private holdersCard(archive: string, cardId: string): VirtualCard {
    const card = VirtualCard.fromBytes(Buffer.from(archive, 'base64'));
    if (card.cardId !== cardId) throw new RenkeiError('ERR_VALIDATION', 'The card brought is not this card.');
    return card;
  }

  private async view(card: CardRow): Promise<CardView> {
    const replacement = await this.deps.store.findReplacement(card.cardId);
    const optional = <K extends string, V>(key: K, value: V | undefined) =>
      (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
    return {
      cardId: card.cardId,
      residentRecordCode: card.residentRecordCode,
      state: card.state,
      expired: card.expiresOn !== undefined && card.expiresOn < this.today(),
      appliedOn: card.appliedOn,
      certificates: card.certificates,
      ...optional('stateReason', card.stateReason),
      ...optional('issuedOn', card.issuedOn),
      ...optional('expiresOn', card.expiresOn),
      ...optional('certificatesExpireOn', card.certificatesExpireOn),
      ...optional('signingSerial', card.signingSerial),
      ...optional('authenticationSerial', card.authenticationSerial),
      ...optional('replacesCardId', card.replacesCardId),
      ...optional('replacedByCardId', replacement?.cardId),
    };
  }

  private today(): string {
    return jstDate(this.deps.clock.now());
  }
}

const PAST: Record<keyof typeof TRANSITIONS, string> = {
  issue: 'issued',
  deliver: 'delivered',
  suspend: 'suspended',
  lift: 'lifted from suspension',
  revoke: 'revoked',
  reissue: 'reissued',
  renew: 'renewed',
  unlock_pin: 'unlocked',
  endorse: 'endorsed',
  issue_signing: 'given a signing certificate',
};

function transition(card: CardRow, to: CardState): Partial<CardEvent> {
  return { cardId: card.cardId, fromState: card.state, toState: to };
}

function raced(): RenkeiError {
  return new RenkeiError('ERR_CARD_STATE', 'The card changed while this operation ran; look at it again.');
}

/** A call to JPKI: its failure is ERR_UPSTREAM_UNAVAILABLE (the CA's own error codes pass through). */
async function upstream<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof RenkeiError) throw error;
    throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', 'The JPKI certification authority did not answer.');
  }
}

function face(resident: IdentityRecord) {
  return {
    name: resident.name,
    address: resident.address,
    dateOfBirth: resident.dateOfBirth,
    sex: resident.sex,
  };
}

function fourInformation(resident: IdentityRecord): FourInformation {
  return {
    name: resident.name,
    ...(resident.nameKana === undefined ? {} : { nameKana: resident.nameKana }),
    address: resident.address,
    dateOfBirth: resident.dateOfBirth,
    sex: resident.sex,
  };
}

/** The fields an endorsement changed, short enough for the event's reason (32 characters). */
const SHORT = { name: 'name', nameKana: 'kana', address: 'address', dateOfBirth: 'dob', sex: 'sex' } as const;

function assist(resident: IdentityRecord): CardFaceAssist {
  return {
    name: resident.name,
    ...(resident.nameKana === undefined ? {} : { nameKana: resident.nameKana }),
    address: resident.address,
    dateOfBirth: resident.dateOfBirth,
    sex: resident.sex,
    individualNumber: resident.individualNumber,
  };
}

/** `day` moved by `months` calendar months, clamped to the month's last day. */
export function addMonths(day: string, months: number): string {
  const [year = 0, month = 1, date = 1] = day.split('-').map(Number);
  const index = year * 12 + (month - 1) + months;
  const y = Math.floor(index / 12);
  const m = (index % 12) + 1;
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(Math.min(date, last)).padStart(2, '0')}`;
}
