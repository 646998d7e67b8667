/**
 * The storage port of service D (公金受取口座・公金決済): the public-funds receiving account a person
 * registered, the payment requests that came with their notices and whether they were paid, and the
 * portal's provider records (the portal answers the account as a provider of the network).
 *
 * Kept apart from `store.ts` so that the services of the portal grow without one port doing
 * everything. Privacy: an account row holds the account holder's name (カナ), which a payment into
 * the account needs; it is the account's, and the portal holds no other name, no Individual Number.
 */
import type { ProvisionStore } from '../../protocol/provider.ts';

/** 普通 (ordinary) or 当座 (current). */
export type AccountType = 'ordinary' | 'current';

/** A public-funds receiving account (公金受取口座), one per person (migration 0005-public-funds). */
export interface AccountRow {
  personId: string;
  bankCode: string;
  branchCode: string;
  accountType: AccountType;
  accountNumber: string;
  holderName: string;
  registeredAt: Date;
  updatedAt: Date;
}

/**
 * A notice's payment request and its payment: `requested`, then `paid` once (the payment provider's
 * receipt); `confirmedAt` once the core answered that the institution took the confirmation.
 */
export interface PaymentRow {
  noticeId: string;
  personId: string;
  senderId: string;
  amount: number;
  dueDate: string;
  payee: string;
  reference: string;
  paidAt: Date | undefined;
  receipt: string | undefined;
  confirmedAt: Date | undefined;
}

export interface MoneyStore extends ProvisionStore {
  findAccount(personId: string): Promise<AccountRow | undefined>;
  /** Register or change the person's account (one per person). */
  saveAccount(row: AccountRow): Promise<void>;
  /** Delete it; false when there was none. */
  deleteAccount(personId: string): Promise<boolean>;

  /** Store a notice's payment request unless stored (a redelivery). */
  insertPayment(row: PaymentRow): Promise<void>;
  /** One of the person's payment requests (another person's is not found). */
  findPayment(personId: string, noticeId: string): Promise<PaymentRow | undefined>;
  /** Mark it paid if it is not (compare-and-set): false when it was paid already. */
  markPaid(noticeId: string, paidAt: Date, receipt: string): Promise<boolean>;
  markConfirmed(noticeId: string, at: Date): Promise<void>;
  /** Paid, not yet confirmed to the institution: sent again at start. */
  listUnconfirmedPayments(): Promise<PaymentRow[]>;
}
