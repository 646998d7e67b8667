/** The card reader's pages, in the language chosen at the portal (the `lang` cookie of the host). */
import type { ErrorCode } from '../../shared/errors.ts';
import { html, page } from '../../shared/web/html.ts';
import { fill, pick, type Lang, type MessageTable } from '../../shared/web/lang.ts';

const SERVICE = { name: 'カードリーダー', nameEn: 'Card reader', href: '/' };

/** The reader's language, and its page to come back to after switching it. */
export interface ReaderView {
  lang: Lang;
  path: string;
}

export const READER_TEXT = {
  title: { ja: 'カードリーダー', en: 'Card reader' },
  pinLeft: { ja: '暗証番号 残り{n}回', en: '{n} PIN tries left' },
  locked: { ja: 'ロック中', en: 'Locked' },
  card: { ja: 'カード', en: 'Card' },
  homeLead: {
    ja: 'マイナポータルのログインページから開くと、ここでカードを選び暗証番号を入力します。',
    en: 'Open this from the Myna Portal’s login page: you then choose your card here and type its PIN.',
  },
  cards: { ja: 'このリーダーのカード', en: 'Cards in this reader' },
  wrongPin: {
    ja: '暗証番号が違います。あと{n}回間違えると、カードがロックされます。',
    en: 'Wrong PIN. {n} more wrong tries lock the card.',
  },
  pinLocked: {
    ja: '暗証番号を3回間違えたため、このカードの利用者証明用電子証明書はロックされました。お住まいの市区町村の窓口でロックを解除してください。',
    en: 'The PIN was wrong 3 times: the card’s user-authentication certificate is locked. Your municipality can unlock it.',
  },
  pinFormat: { ja: '暗証番号は数字4桁で入力してください。', en: 'The PIN is 4 digits.' },
  chooseCard: { ja: 'カードを選んでください。', en: 'Choose a card.' },
  loginTitle: { ja: 'カードでログイン', en: 'Log in with your card' },
  loggingInTo: { ja: 'ログイン先', en: 'Logging in to' },
  checkPortal: {
    ja: 'ログイン先が、いつも使うマイナポータルであることを確かめてください。',
    en: 'Check that this is the portal you meant to use.',
  },
  pinLabel: {
    ja: '利用者証明用電子証明書の暗証番号（数字4桁）',
    en: 'PIN of the user-authentication certificate (4 digits)',
  },
  pinHint: { ja: '3回続けて間違えるとロックされます。', en: 'Three wrong tries lock the card.' },
  signAndLogin: { ja: '署名してログイン', en: 'Sign and log in' },
  backTitle: { ja: 'ポータルに戻ります', en: 'Back to the portal' },
  signedLogin: { ja: 'カードで署名しました。', en: 'Your card signed the login.' },
  backTo: { ja: '{portal} に戻る', en: 'Back to {portal}' },
  errorTitle: { ja: 'ご利用いただけません', en: 'Something went wrong' },
  refused: {
    ja: 'この要求には応じられません。マイナポータルのログインページから、もう一度始めてください。',
    en: 'This request cannot be answered. Start again from the Myna Portal’s login page.',
  },
  error: {
    ja: 'エラーが発生しました。もう一度お試しください。',
    en: 'Something went wrong. Please try again.',
  },
  code: { ja: 'コード', en: 'Code' },
  wrongPassword: {
    ja: 'パスワードが違います。あと{n}回間違えると、署名用電子証明書がロックされます。',
    en: 'Wrong password. {n} more wrong tries lock the signing certificate.',
  },
  passwordLocked: {
    ja: 'パスワードを5回間違えたため、署名用電子証明書はロックされました。お住まいの市区町村の窓口でロックを解除してください。',
    en: 'The password was wrong 5 times: the signing certificate is locked. Your municipality can unlock it.',
  },
  passwordFormat: {
    ja: 'パスワードは英大文字と数字の6〜16文字で入力してください。',
    en: 'The password is 6 to 16 upper-case letters and digits.',
  },
  noSigning: {
    ja: 'このカードには署名用電子証明書がありません。',
    en: 'This card has no signing certificate.',
  },
  signTitle: { ja: 'カードで電子署名', en: 'Sign with your card' },
  to: { ja: '申請先', en: 'To' },
  noAttach: { ja: '添付不要', en: 'No need to attach' },
  signExactly: {
    ja: 'この内容に、署名用電子証明書で電子署名します。',
    en: 'You sign exactly this with your signing certificate. The document itself is in Japanese, as the municipality receives it; its names and labels are shown here in English.',
  },
  passwordLabel: {
    ja: '署名用電子証明書のパスワード（英大文字・数字 6〜16文字）',
    en: 'Signing password (6–16 upper-case letters and digits)',
  },
  passwordHint: { ja: '5回続けて間違えるとロックされます。', en: 'Five wrong tries lock it.' },
  signAndSend: { ja: '電子署名して送信', en: 'Sign and send' },
  signedDocument: { ja: 'カードで電子署名しました。', en: 'Your card signed the application.' },
  sendTo: { ja: '{portal} に送信する', en: 'Send to {portal}' },
} satisfies MessageTable;

const chrome = (view: ReaderView) => ({ lang: view.lang, path: view.path, service: SERVICE });

export interface CardChoice {
  file: string;
  label: string;
  pinTriesLeft: number;
}

function tries(lang: Lang, c: CardChoice): string {
  return c.pinTriesLeft > 0
    ? fill(READER_TEXT.pinLeft[lang], { n: c.pinTriesLeft })
    : READER_TEXT.locked[lang];
}

function cardList(lang: Lang, cards: readonly CardChoice[]) {
  return html`<ul>
    ${cards.map((c) => html`<li>${c.label} (${tries(lang, c)})</li>`)}
  </ul>`;
}

/** The cards to sign with, as radio buttons (the chosen one, else the first, checked). */
function cardChooser(
  lang: Lang,
  cards: readonly CardChoice[],
  selected: string | undefined,
  hint?: (card: CardChoice) => string,
) {
  return html`<div class="form-field">
    <fieldset>
      <legend>${READER_TEXT.card[lang]}</legend>
      ${cards.map(
        (c, i) =>
          html`<label class="choice">
            <input
              type="radio"
              name="card"
              value="${c.file}"
              ${(selected ?? (i === 0 ? c.file : undefined)) === c.file ? html`checked` : ''}
            />
            ${c.label} ${hint ? html`<span class="hint">${hint(c)}</span>` : ''}
          </label>`,
      )}
    </fieldset>
  </div>`;
}

export function homePage(view: ReaderView, args: { cards: readonly CardChoice[] }): string {
  const t = pick(READER_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.title,
    body: html`<p>${t.homeLead}</p>
      <h2>${t.cards}</h2>
      ${cardList(view.lang, args.cards)}`,
  });
}

function alert(text: string) {
  return html`<div class="notice notice--error" role="alert" data-testid="reader-error">${text}</div>`;
}

/** What went wrong with the last try, said plainly. */
function problem(lang: Lang, error: string | undefined) {
  if (error === undefined) return html``;
  const t = pick(READER_TEXT, lang);
  const wrong = /^wrong:(\d)$/.exec(error);
  return alert(
    wrong
      ? fill(t.wrongPin, { n: wrong[1] ?? '' })
      : error === 'locked'
        ? t.pinLocked
        : error === 'format'
          ? t.pinFormat
          : t.chooseCard,
  );
}

export function signPage(
  view: ReaderView,
  args: {
    cards: readonly CardChoice[];
    portal: string;
    fields: { challenge: string; expires: string; return: string; token: string };
    error?: string;
    selected?: string;
  },
): string {
  const t = pick(READER_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.loginTitle,
    body: html`${problem(view.lang, args.error)}
      <p>
        ${t.loggingInTo}:
        <strong data-testid="portal-origin">${args.portal}</strong>
      </p>
      <p class="hint">${t.checkPortal}</p>
      <form method="post" action="/sign">
        <input type="hidden" name="challenge" value="${args.fields.challenge}" />
        <input type="hidden" name="expires" value="${args.fields.expires}" />
        <input type="hidden" name="return" value="${args.fields.return}" />
        <input type="hidden" name="token" value="${args.fields.token}" />
        ${cardChooser(view.lang, args.cards, args.selected, (c) => tries(view.lang, c))}
        <div class="form-field">
          <label for="pin">${t.pinLabel}</label>
          <input
            class="input"
            id="pin"
            name="pin"
            type="password"
            inputmode="numeric"
            autocomplete="off"
            pattern="[0-9]{4}"
            maxlength="4"
            required
          />
          <p class="hint">${t.pinHint}</p>
        </div>
        <button class="button" type="submit">${t.signAndLogin}</button>
      </form>`,
  });
}

/** The answer, posted back to the portal (at once by `auto-submit.js`, or by the button). */
export function answerPage(
  view: ReaderView,
  args: { action: string; portal: string; challenge: string; certificate: string; signature: string },
): string {
  const t = pick(READER_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.backTitle,
    scripts: ['auto-submit.js'],
    body: html`<p class="notice notice--success">${t.signedLogin}</p>
      <form method="post" action="${args.action}" data-auto-submit>
        <input type="hidden" name="challenge" value="${args.challenge}" />
        <input type="hidden" name="certificate" value="${args.certificate}" />
        <input type="hidden" name="signature" value="${args.signature}" />
        <button class="button" type="submit">${fill(t.backTo, { portal: args.portal })}</button>
      </form>`,
  });
}

export function errorPage(
  error: { status: number; code: ErrorCode; message: string },
  view: ReaderView = { lang: 'ja', path: '/' },
): string {
  const t = pick(READER_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.errorTitle,
    body: html`<p class="notice notice--error" role="alert">
        ${error.code === 'ERR_CALLER_NOT_ALLOWED' ? t.refused : t.error}
      </p>
      <p class="hint">${t.code}: <code>${error.code}</code></p>`,
  });
}

/** What the portal asks the card to sign (ぴったりサービス), as the reader shows it. */
export interface DocumentView {
  municipalityName: string;
  procedureName: string;
  lines: readonly { label: string; value: string }[];
  attachmentsOmitted: readonly string[];
  /**
   * The same in English, from the portal's catalogue and legal table, for the reader in English: the
   * labels and names translated, each value as signed (a choice's English beside it). The card signs
   * the document's bytes, in Japanese, whichever the reader shows.
   */
  en?: DocumentInEnglish | undefined;
}

export interface DocumentInEnglish {
  municipalityName: string;
  procedureName: string;
  lines: readonly { label: string; value: string }[];
  attachmentsOmitted: readonly string[];
}

function passwordProblem(lang: Lang, error: string | undefined) {
  if (error === undefined) return html``;
  const t = pick(READER_TEXT, lang);
  const wrong = /^wrong:(\d)$/.exec(error);
  return alert(
    wrong
      ? fill(t.wrongPassword, { n: wrong[1] ?? '' })
      : error === 'locked'
        ? t.passwordLocked
        : error === 'format'
          ? t.passwordFormat
          : error === 'nosigning'
            ? t.noSigning
            : t.chooseCard,
  );
}

/** The application to sign, the card and the signing password (署名用電子証明書, 6–16 characters). */
export function signDocumentPage(
  view: ReaderView,
  args: {
    cards: readonly CardChoice[];
    portal: string;
    document: DocumentView;
    fields: { request: string; portal: string; token: string };
    error?: string;
    selected?: string;
  },
): string {
  const document = view.lang === 'en' && args.document.en ? args.document.en : args.document;
  const t = pick(READER_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.signTitle,
    body: html`${passwordProblem(view.lang, args.error)}
      <p>
        ${t.to}: <strong>${document.municipalityName}</strong> (<span data-testid="portal-origin"
          >${args.portal}</span
        >)
      </p>
      <h2 data-testid="document-title">${document.procedureName}</h2>
      <dl class="summary">
        ${document.lines.map(
          (l) =>
            html`<dt>${l.label}</dt>
              <dd>${l.value}</dd>`,
        )}
      </dl>
      ${
        document.attachmentsOmitted.length > 0
          ? html`<p class="hint">
              ${t.noAttach}: ${document.attachmentsOmitted.join(view.lang === 'en' ? ', ' : '、')}
            </p>`
          : ''
      }
      <p class="hint">${t.signExactly}</p>
      <form method="post" action="/sign-document">
        <input type="hidden" name="request" value="${args.fields.request}" />
        <input type="hidden" name="portal" value="${args.fields.portal}" />
        <input type="hidden" name="token" value="${args.fields.token}" />
        ${cardChooser(view.lang, args.cards, args.selected)}
        <div class="form-field">
          <label for="password">${t.passwordLabel}</label>
          <input
            class="input"
            id="password"
            name="password"
            type="password"
            autocomplete="off"
            minlength="6"
            maxlength="16"
            required
          />
          <p class="hint">${t.passwordHint}</p>
        </div>
        <button class="button" type="submit">${t.signAndSend}</button>
      </form>`,
  });
}

/** The signed application, posted back to the portal (at once by `auto-submit.js`, or by the button). */
export function documentAnswerPage(
  view: ReaderView,
  args: { action: string; portal: string; signedData: string },
): string {
  const t = pick(READER_TEXT, view.lang);
  return page({
    ...chrome(view),
    title: t.backTitle,
    scripts: ['auto-submit.js'],
    body: html`<p class="notice notice--success">${t.signedDocument}</p>
      <form method="post" action="${args.action}" data-auto-submit>
        <input type="hidden" name="signedData" value="${args.signedData}" />
        <button class="button" type="submit">${fill(t.sendTo, { portal: args.portal })}</button>
      </form>`,
  });
}
