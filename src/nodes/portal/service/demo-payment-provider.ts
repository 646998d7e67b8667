/**
 * A demo payment provider (決済代行), standing in for the payment service a resident pays through
 * from the portal: a checkout for one payment, a page where the resident confirms, and the provider
 * telling the portal. No card number, no bank login: the demo says plainly that nothing is charged.
 *
 * Its state (the checkouts) is its own, as a separate provider's would be: kept in its own file
 * (`file`, JSON, written whole to a temporary file and renamed over the old one at each change, mode
 * 0600), not in the portal's database, so that a restart of the portal keeps every checkout a resident
 * may come back to. Without `file` (unit tests) they are in memory only. It reaches the portal only
 * through `settle` (for a real provider, a signed call to the portal's callback), and charges only
 * once the portal accepted the payment, so a request paid already is never charged again. Checkouts
 * expire after 15 minutes.
 *
 * A checkout the process left `settling` (stopped while telling the portal) comes back `open`: the
 * resident may confirm again, and the portal, which takes a payment once, refuses a second one
 * (ERR_ALREADY_PAID) if the first had reached it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { PaymentProvider } from './payments.ts';

export interface Checkout {
  checkoutId: string;
  /** The token of the checkout's confirm form (the page of another service has no portal session). */
  formToken: string;
  personId: string;
  noticeId: string;
  amount: number;
  payee: string;
  dueDate: string;
  reference: string;
  expiresAt: Date;
  state: 'open' | 'settling' | 'paid' | 'refused';
  receipt?: string;
}

export const CHECKOUT_PATH = '/demo-pay';
const TTL_MS = 15 * 60_000;

export class DemoPaymentProvider implements PaymentProvider {
  private readonly checkouts = new Map<string, Checkout>();

  constructor(
    private readonly deps: {
      clock: Clock;
      /** The portal's `PaymentService.settle`. */
      settle: (input: {
        personId: string;
        noticeId: string;
        amount: number;
        receipt: string;
      }) => Promise<unknown>;
      /** Where the checkouts are kept across restarts (the portal's node directory). */
      file?: string | undefined;
    },
  ) {
    const { file } = deps;
    if (file === undefined || !existsSync(file)) return;
    const now = deps.clock.now();
    for (const stored of JSON.parse(readFileSync(file, 'utf8')) as (Omit<Checkout, 'expiresAt'> & {
      expiresAt: string;
    })[]) {
      const checkout: Checkout = {
        ...stored,
        expiresAt: new Date(stored.expiresAt),
        state: stored.state === 'settling' ? 'open' : stored.state,
      };
      if (checkout.expiresAt >= now) this.checkouts.set(checkout.checkoutId, checkout);
    }
  }

  /** Write every checkout to the file (whole, then renamed: a crash leaves the old or the new). */
  private save(): void {
    const { file } = this.deps;
    if (file === undefined) return;
    const temporary = `${file}.tmp`;
    writeFileSync(temporary, JSON.stringify([...this.checkouts.values()]), { mode: 0o600 });
    renameSync(temporary, file);
  }

  createCheckout(input: Omit<Checkout, 'checkoutId' | 'formToken' | 'expiresAt' | 'state'>) {
    const now = this.deps.clock.now();
    for (const [id, c] of this.checkouts) if (c.expiresAt < now) this.checkouts.delete(id);
    const checkout: Checkout = {
      ...input,
      checkoutId: randomBytes(16).toString('base64url'),
      formToken: randomBytes(16).toString('base64url'),
      expiresAt: new Date(now.getTime() + TTL_MS),
      state: 'open',
    };
    this.checkouts.set(checkout.checkoutId, checkout);
    this.save();
    return Promise.resolve({ url: `${CHECKOUT_PATH}/${checkout.checkoutId}` });
  }

  /** An open or ended checkout. Errors: ERR_ROUTE_NOT_FOUND (unknown or expired). */
  get(checkoutId: string): Checkout {
    const checkout = this.checkouts.get(checkoutId);
    if (!checkout || checkout.expiresAt < this.deps.clock.now()) {
      throw new RenkeiError('ERR_ROUTE_NOT_FOUND', 'There is no such checkout.');
    }
    return checkout;
  }

  /**
   * The resident confirmed: the portal is told, and only if it accepts is the payment taken. A
   * checkout ended already answers as it ended. Errors: ERR_ROUTE_NOT_FOUND, ERR_CALLER_NOT_ALLOWED
   * (not the checkout's form), the portal's (ERR_ALREADY_PAID: the checkout is then `refused`).
   */
  async confirm(checkoutId: string, formToken: string | undefined): Promise<Checkout> {
    const checkout = this.get(checkoutId);
    if (formToken !== checkout.formToken) {
      throw new RenkeiError('ERR_CALLER_NOT_ALLOWED', 'The form’s token is missing or wrong.');
    }
    if (checkout.state !== 'open') return checkout;
    // A second confirm while the portal is being told finds it `settling`, and is not sent again.
    checkout.state = 'settling';
    this.save();
    const receipt = `DEMO-${randomBytes(6).toString('hex').toUpperCase()}`;
    try {
      await this.deps.settle({
        personId: checkout.personId,
        noticeId: checkout.noticeId,
        amount: checkout.amount,
        receipt,
      });
    } catch (error) {
      checkout.state = error instanceof RenkeiError && error.code === 'ERR_ALREADY_PAID' ? 'refused' : 'open';
      this.save();
      throw error;
    }
    checkout.state = 'paid';
    checkout.receipt = receipt;
    this.save();
    return checkout;
  }
}
