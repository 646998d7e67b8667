/**
 * A demo payment provider (決済代行), standing in for the payment service a resident pays through
 * from the portal: a checkout for one payment, a page where the resident confirms, and the provider
 * telling the portal. No card number, no bank login: the demo says plainly that nothing is charged.
 *
 * Its state (the checkouts) is its own and in memory, as a separate provider's would be; it reaches
 * the portal only through `settle` (for a real provider, a signed call to the portal's callback),
 * and charges only once the portal accepted the payment, so a request paid already is never charged
 * again. Checkouts expire after 15 minutes.
 */
import { randomBytes } from 'node:crypto';
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
    },
  ) {}

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
      throw error;
    }
    checkout.state = 'paid';
    checkout.receipt = receipt;
    return checkout;
  }
}
