// Shows how long the login challenge can still be answered (data-expires-at, ISO 8601), and says
// when it is over, so that the resident starts again rather than typing a PIN for nothing. In the
// page's language (`<html lang>`).
const en = document.documentElement.lang === 'en';
for (const element of document.querySelectorAll('[data-expires-at]')) {
  const expiresAt = Date.parse(element.getAttribute('data-expires-at') ?? '');
  if (Number.isNaN(expiresAt)) continue;
  const tick = () => {
    const left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
    element.textContent =
      left > 0
        ? en
          ? `Valid for ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} more`
          : `有効期限まであと ${Math.floor(left / 60)}分${String(left % 60).padStart(2, '0')}秒`
        : en
          ? 'This login has expired. Please log in again.'
          : '有効期限が過ぎました。もう一度ログインしてください。';
    if (left === 0) clearInterval(timer);
  };
  const timer = setInterval(tick, 1000);
  tick();
}
