/**
 * Demo residents of a portal test network, by label: each with a card, registered at the
 * municipality (its addressee number kept), and, when asked, logged in to the portal in a browser of
 * their own. Shared by the tests of the portal's services that need several residents at once.
 */
import { renkei, type Run } from '../../src/cli/test-support.ts';
import { MUNICIPALITY, type PortalNetwork } from './portal-network.ts';
import { Browser, logIn } from './portal-web.ts';

interface Resident {
  addresseeNumber: string;
  individualNumber: string;
  browser: Browser | undefined;
}

export class PortalResidents {
  private readonly residents = new Map<string, Resident>();

  constructor(private readonly net: () => PortalNetwork) {}

  /** Issue the resident's card, register them at the municipality, and log them in if asked. */
  async add(label: string, name: string, options: { login: boolean }): Promise<void> {
    const net = this.net();
    const card = await net.issueCard(label, name);
    const person = await net.network
      .institution(MUNICIPALITY.id)
      .registerPerson({ body: { individualNumber: card.individualNumber } });
    const resident: Resident = {
      addresseeNumber: person.addresseeNumber,
      individualNumber: card.individualNumber,
      browser: undefined,
    };
    this.residents.set(label, resident);
    if (options.login) await this.logIn(label);
  }

  /**
   * The residents of the portal's service tests, all at 三条市: 三条 花子 (`hanako`) and 三条 太郎
   * (`taro`), logged in, and 佐藤 美咲 (`misaki`), who has not logged in yet.
   */
  async addThree(): Promise<void> {
    await this.add('hanako', '三条 花子', { login: true });
    await this.add('taro', '三条 太郎', { login: true });
    await this.add('misaki', '佐藤 美咲', { login: false });
  }

  /** Log the resident in (again: a new browser, a new session). */
  async logIn(label: string): Promise<Browser> {
    const browser = new Browser();
    await logIn(this.net(), browser, label);
    this.get(label).browser = browser;
    return browser;
  }

  /**
   * `renkei notices send` as the municipality's staff run it: a notice to the resident with this title
   * and the text of `bodyFile`, and any further options (`--payment …`).
   */
  sendNotice(label: string, title: string, bodyFile: string, ...options: string[]): Promise<Run> {
    const net = this.net();
    return renkei(
      '--data-dir',
      net.dir,
      'notices',
      'send',
      '--institution-url',
      net.network.institutions.get(MUNICIPALITY.id)?.url ?? '',
      '--addressee',
      this.addressee(label),
      '--title',
      title,
      '--body-file',
      bodyFile,
      ...options,
    );
  }

  /** The municipality's addressee number for the resident. */
  addressee(label: string): string {
    return this.get(label).addresseeNumber;
  }

  individualNumber(label: string): string {
    return this.get(label).individualNumber;
  }

  /** The browser the resident is logged in with. */
  as(label: string): Browser {
    const browser = this.get(label).browser;
    if (!browser) throw new Error(`${label} is not logged in`);
    return browser;
  }

  private get(label: string): Resident {
    const resident = this.residents.get(label);
    if (!resident) throw new Error(`no resident ${label} in this test`);
    return resident;
  }
}

/** Poll until `probe` gives a value (undefined: not yet), or fail naming what was awaited. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
