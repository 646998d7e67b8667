/** The card reader's pages: Japanese first, the English beside it. */
import type { ErrorCode } from '../../shared/errors.ts';
import { html, page } from '../../shared/web/html.ts';

const SERVICE = { name: 'カードリーダー', nameEn: 'Card reader', href: '/' };

export interface CardChoice {
  file: string;
  label: string;
  pinTriesLeft: number;
}

function cardList(cards: readonly CardChoice[]) {
  return html`<ul>
    ${cards.map(
      (c) =>
        html`<li>${c.label}（${c.pinTriesLeft > 0 ? `暗証番号 残り${c.pinTriesLeft}回` : 'ロック中'}）</li>`,
    )}
  </ul>`;
}

/** The cards to sign with, as radio buttons (the chosen one, else the first, checked). */
function cardChooser(
  cards: readonly CardChoice[],
  selected: string | undefined,
  hint?: (card: CardChoice) => string,
) {
  return html`<div class="form-field">
    <fieldset>
      <legend>カード <span class="en" lang="en">Card</span></legend>
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

export function homePage(args: { cards: readonly CardChoice[] }): string {
  return page({
    title: 'カードリーダー',
    titleEn: 'Card reader',
    service: SERVICE,
    body: html`<p>マイナポータルのログインページから開くと、ここでカードを選び暗証番号を入力します。</p>
      <p class="en" lang="en">
        Open this from the Myna Portal's login page: you then choose your card here and type its PIN.
      </p>
      <h2>このリーダーのカード <span class="en" lang="en">Cards in this reader</span></h2>
      ${cardList(args.cards)}`,
  });
}

/** What went wrong with the last try, said plainly. */
function problem(error: string | undefined) {
  if (error === undefined) return html``;
  const wrong = /^wrong:(\d)$/.exec(error);
  const [ja, en] = wrong
    ? [
        `暗証番号が違います。あと${wrong[1]}回間違えると、カードがロックされます。`,
        `Wrong PIN. ${wrong[1]} more wrong tries lock the card.`,
      ]
    : error === 'locked'
      ? [
          '暗証番号を3回間違えたため、このカードの利用者証明用電子証明書はロックされました。お住まいの市区町村の窓口でロックを解除してください。',
          'The PIN was wrong 3 times: the card is locked. Your municipality can unlock it.',
        ]
      : error === 'format'
        ? ['暗証番号は数字4桁で入力してください。', 'The PIN is 4 digits.']
        : ['カードを選んでください。', 'Choose a card.'];
  return html`<div class="notice notice--error" role="alert" data-testid="reader-error">
    ${ja}<br /><span class="en" lang="en">${en}</span>
  </div>`;
}

export function signPage(args: {
  cards: readonly CardChoice[];
  portal: string;
  fields: { challenge: string; expires: string; return: string; token: string };
  error?: string;
  selected?: string;
}): string {
  return page({
    title: 'カードでログイン',
    titleEn: 'Log in with your card',
    service: SERVICE,
    body: html`${problem(args.error)}
      <p>
        ログイン先 <span lang="en">Logging in to</span>:
        <strong data-testid="portal-origin">${args.portal}</strong>
      </p>
      <p class="hint">
        ログイン先が、いつも使うマイナポータルであることを確かめてください。<span lang="en"
          >Check that this is the portal you meant to use.</span
        >
      </p>
      <form method="post" action="/sign">
        <input type="hidden" name="challenge" value="${args.fields.challenge}" />
        <input type="hidden" name="expires" value="${args.fields.expires}" />
        <input type="hidden" name="return" value="${args.fields.return}" />
        <input type="hidden" name="token" value="${args.fields.token}" />
        ${cardChooser(args.cards, args.selected, (c) =>
          c.pinTriesLeft > 0 ? `暗証番号 残り${c.pinTriesLeft}回` : 'ロック中 Locked',
        )}
        <div class="form-field">
          <label for="pin"
            >利用者証明用電子証明書の暗証番号（数字4桁）
            <span class="en" lang="en">PIN (4 digits)</span></label
          >
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
          <p class="hint">
            3回続けて間違えるとロックされます。<span lang="en">Three wrong tries lock the card.</span>
          </p>
        </div>
        <button class="button" type="submit">署名してログイン <span lang="en">Sign and log in</span></button>
      </form>`,
  });
}

/** The answer, posted back to the portal (at once by `auto-submit.js`, or by the button). */
export function answerPage(args: {
  action: string;
  portal: string;
  challenge: string;
  certificate: string;
  signature: string;
}): string {
  return page({
    title: 'ポータルに戻ります',
    titleEn: 'Back to the portal',
    service: SERVICE,
    scripts: ['auto-submit.js'],
    body: html`<p class="notice notice--success">
        カードで署名しました。<span class="en" lang="en">Your card signed the login.</span>
      </p>
      <form method="post" action="${args.action}" data-auto-submit>
        <input type="hidden" name="challenge" value="${args.challenge}" />
        <input type="hidden" name="certificate" value="${args.certificate}" />
        <input type="hidden" name="signature" value="${args.signature}" />
        <button class="button" type="submit">
          ${args.portal} に戻る <span lang="en">Back to the portal</span>
        </button>
      </form>`,
  });
}

export function errorPage(error: { status: number; code: ErrorCode; message: string }): string {
  const [ja, en] =
    error.code === 'ERR_CALLER_NOT_ALLOWED'
      ? [
          'この要求には応じられません。マイナポータルのログインページから、もう一度始めてください。',
          'This request cannot be answered. Start again from the Myna Portal’s login page.',
        ]
      : ['エラーが発生しました。もう一度お試しください。', 'Something went wrong. Please try again.'];
  return page({
    title: 'ご利用いただけません',
    titleEn: 'Something went wrong',
    service: SERVICE,
    body: html`<p class="notice notice--error" role="alert">
        ${ja}<br /><span class="en" lang="en">${en}</span>
      </p>
      <p class="hint">コード <span lang="en">Code</span>: <code>${error.code}</code></p>`,
  });
}

/** What the portal asks the card to sign (ぴったりサービス), as the reader shows it. */
export interface DocumentView {
  municipalityName: string;
  procedureName: string;
  lines: readonly { label: string; value: string }[];
  attachmentsOmitted: readonly string[];
}

function passwordProblem(error: string | undefined) {
  if (error === undefined) return html``;
  const wrong = /^wrong:(\d)$/.exec(error);
  const [ja, en] = wrong
    ? [
        `パスワードが違います。あと${wrong[1]}回間違えると、署名用電子証明書がロックされます。`,
        `Wrong password. ${wrong[1]} more wrong tries lock the signing certificate.`,
      ]
    : error === 'locked'
      ? [
          'パスワードを5回間違えたため、署名用電子証明書はロックされました。お住まいの市区町村の窓口でロックを解除してください。',
          'The password was wrong 5 times: the signing certificate is locked. Your municipality can unlock it.',
        ]
      : error === 'format'
        ? [
            'パスワードは英大文字と数字の6〜16文字で入力してください。',
            'The password is 6 to 16 upper-case letters and digits.',
          ]
        : error === 'nosigning'
          ? ['このカードには署名用電子証明書がありません。', 'This card has no signing certificate.']
          : ['カードを選んでください。', 'Choose a card.'];
  return html`<div class="notice notice--error" role="alert" data-testid="reader-error">
    ${ja}<br /><span class="en" lang="en">${en}</span>
  </div>`;
}

/** The application to sign, the card and the signing password (署名用電子証明書, 6–16 characters). */
export function signDocumentPage(args: {
  cards: readonly CardChoice[];
  portal: string;
  document: DocumentView;
  fields: { request: string; portal: string; token: string };
  error?: string;
  selected?: string;
}): string {
  const { document } = args;
  return page({
    title: 'カードで電子署名',
    titleEn: 'Sign with your card',
    service: SERVICE,
    body: html`${passwordProblem(args.error)}
      <p>
        申請先 <span lang="en">To</span>: <strong>${document.municipalityName}</strong>（<span
          data-testid="portal-origin"
          >${args.portal}</span
        >）
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
              添付不要 <span lang="en">No need to attach</span>: ${document.attachmentsOmitted.join('、')}
            </p>`
          : ''
      }
      <p class="hint">
        この内容に、署名用電子証明書で電子署名します。<span lang="en"
          >You sign exactly this with your signing certificate.</span
        >
      </p>
      <form method="post" action="/sign-document">
        <input type="hidden" name="request" value="${args.fields.request}" />
        <input type="hidden" name="portal" value="${args.fields.portal}" />
        <input type="hidden" name="token" value="${args.fields.token}" />
        ${cardChooser(args.cards, args.selected)}
        <div class="form-field">
          <label for="password"
            >署名用電子証明書のパスワード（英大文字・数字 6〜16文字）
            <span class="en" lang="en">Signing password (6–16 letters and digits)</span></label
          >
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
          <p class="hint">
            5回続けて間違えるとロックされます。<span lang="en">Five wrong tries lock it.</span>
          </p>
        </div>
        <button class="button" type="submit">電子署名して送信 <span lang="en">Sign and send</span></button>
      </form>`,
  });
}

/** The signed application, posted back to the portal (at once by `auto-submit.js`, or by the button). */
export function documentAnswerPage(args: { action: string; portal: string; signedData: string }): string {
  return page({
    title: 'ポータルに戻ります',
    titleEn: 'Back to the portal',
    service: SERVICE,
    scripts: ['auto-submit.js'],
    body: html`<p class="notice notice--success">
        カードで電子署名しました。<span class="en" lang="en">Your card signed the application.</span>
      </p>
      <form method="post" action="${args.action}" data-auto-submit>
        <input type="hidden" name="signedData" value="${args.signedData}" />
        <button class="button" type="submit">
          ${args.portal} に送信する <span lang="en">Send to the portal</span>
        </button>
      </form>`,
  });
}
