/**
 * The consoles' strings. The language machinery (`Lang`, `pick`, the `lang` cookie, the switch) is
 * shared with the portal and the card reader: shared/web/lang.ts.
 */
import type { MessageTable } from '../lang.ts';

export { LANG_COOKIE, langOf, pick, type Lang, type MessageTable } from '../lang.ts';

/** The consoles' chrome: login, header, navigation. */
export const CHROME = {
  login: { ja: 'ログイン', en: 'Log in' },
  logout: { ja: 'ログアウト', en: 'Log out' },
  loggedOut: { ja: 'ログアウトしました。', en: 'You have logged out.' },
  expired: {
    ja: 'セッションの有効期限が切れました。もう一度ログインしてください。',
    en: 'Your session has ended. Log in again.',
  },
  loginId: { ja: 'ログインID', en: 'Login id' },
  password: { ja: 'パスワード', en: 'Password' },
  loginLead: {
    ja: '業務用アカウントでログインします。',
    en: 'Log in with your business account.',
  },
  loginFailed: { ja: 'ログインIDまたはパスワードが違います。', en: 'The login id or the password is wrong.' },
  throttled: {
    ja: 'ログインの失敗が続いたため、しばらくログインできません。{s}秒後にもう一度お試しください。',
    en: 'Too many failed logins: try again in {s} seconds.',
  },
  roleRefused: {
    ja: 'このアカウントではこの画面を利用できません。',
    en: 'This account may not use this console.',
  },
  switchLang: { ja: 'English', en: '日本語' },
  skip: { ja: '本文へ移動', en: 'Skip to content' },
  demo: {
    ja: 'これはデモです。本物の情報提供ネットワークシステムではありません。',
    en: 'A demonstration, not the real Information Provision Network.',
  },
  signedInAs: { ja: 'ログイン中', en: 'Signed in as' },
} satisfies MessageTable;
