/**
 * Notices from institutions to residents at the Myna Portal (お知らせ):
 *
 *   business system ──ResidentMessageInput──▶ institution   (the addressee number, title, body)
 *   institution ──PortalNoticeSubmission──▶ core             (its own code for the person; sealed to the portal)
 *   core ──PortalNoticeDelivery──▶ portal                    (the portal's code for the person; as sealed)
 *
 * The institution never knows the portal's code, and the portal never learns the institution's: the
 * core converts one into the other, as it does for an inquiry. The title and body are sealed by the
 * institution to the portal (signed, then encrypted to the portal's encryption certificate:
 * portal-notice-sealing.ts); the core relays the ciphertext and records sender, time and that it was
 * a notice, never what it said.
 */
import { z } from 'zod';
import { AddresseeNumber, InstitutionId, PersonCode } from './identifiers.ts';
import { SealedItems } from './messages.ts';

/** A notice's id: a UUID made by the sending institution, the same at the three parties. */
export const PortalNoticeId = z.uuid();
export type PortalNoticeId = z.infer<typeof PortalNoticeId>;

/** The notice's title: one line, as a resident's inbox lists it. */
export const NoticeTitle = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100)
  .refine((t) => !/[\r\n]/.test(t), 'must be one line');
/** The notice's text: plain text (the portal shows it as such, never as HTML). */
export const NoticeBody = z.string().trim().min(1, 'must not be empty').max(20_000);

/**
 * A payment request a notice may carry (公金決済): what the resident pays, by when, to whom, and the
 * institution's own reference (a bill number: no personal data). Amounts are whole yen.
 */
export const PaymentRequest = z.object({
  amount: z.number().int().min(1).max(100_000_000),
  dueDate: z.iso.date(),
  payee: z.string().trim().min(1).max(100),
  reference: z.string().regex(/^[A-Za-z0-9-]{1,32}$/, 'must be 1-32 letters, digits or hyphens'),
});
export type PaymentRequest = z.infer<typeof PaymentRequest>;

// ── The institution's business side ──────────────────────────────────────────────────────────

/** Business system → its institution: `POST /business/v1/resident-messages`. */
export const ResidentMessageInput = z.object({
  addresseeNumber: AddresseeNumber,
  title: NoticeTitle,
  body: NoticeBody,
  /** A payment the resident is asked to make from the notice (公金決済); its status: `getPaymentRequest`. */
  payment: PaymentRequest.optional(),
});
export type ResidentMessageInput = z.infer<typeof ResidentMessageInput>;

/**
 * The core took the notice (202). It does not say whether the resident uses the portal: a notice for
 * a person who has not logged in yet is held by the core until they do (src/nodes/core/README.md).
 */
export const ResidentMessageSent = z.object({ noticeId: PortalNoticeId, sentAt: z.string() });
export type ResidentMessageSent = z.infer<typeof ResidentMessageSent>;

// ── Between the nodes ────────────────────────────────────────────────────────────────────────

/** Institution → core: `POST /v1/portal-notices` (signed; `senderId` bound to the certificate). */
export const PortalNoticeSubmission = z.object({
  senderId: InstitutionId,
  noticeId: PortalNoticeId,
  /** The sender's own code for the person. */
  personCode: PersonCode,
  /** The content sealed to the portal (compact JWE). */
  sealed: SealedItems,
});
export type PortalNoticeSubmission = z.infer<typeof PortalNoticeSubmission>;

/** Accepted: stored at the core, delivered when the portal can take it (a resend answers the same). */
export const PortalNoticeAccepted = z.object({ noticeId: PortalNoticeId, receivedAt: z.string() });
export type PortalNoticeAccepted = z.infer<typeof PortalNoticeAccepted>;

/** Core → portal: `POST /network/v1/portal-notices`. */
export const PortalNoticeDelivery = z.object({
  noticeId: PortalNoticeId,
  senderId: InstitutionId,
  /** The sender's name in the core's registry (what the resident reads; the sender cannot choose it). */
  senderName: z.string().min(1).max(200),
  /** The portal's own code for the person, under its current key version. */
  personCode: PersonCode,
  /** When the core received it from the sender. */
  sentAt: z.string(),
  sealed: SealedItems,
});
export type PortalNoticeDelivery = z.infer<typeof PortalNoticeDelivery>;

/** What the sender seals to the portal. */
export const PortalNoticeContent = z.object({
  noticeId: PortalNoticeId,
  senderId: InstitutionId,
  title: NoticeTitle,
  body: NoticeBody,
  payment: PaymentRequest.optional(),
});
export type PortalNoticeContent = z.infer<typeof PortalNoticeContent>;
