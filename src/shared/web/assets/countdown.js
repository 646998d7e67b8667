// Shows how long the login challenge can still be answered (data-expires-at, ISO 8601), and says
// when it is over, so that the resident starts again rather than typing a PIN for nothing.
for (const element of document.querySelectorAll('[data-expires-at]')) {
  const expiresAt = Date.parse(element.getAttribute('data-expires-at') ?? '');
  if (Number.isNaN(expiresAt)) continue;
  const tick = () => {
    const left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
    element.textContent =
      left > 0
        ? `有効期限まであと ${Math.floor(left / 60)}分${String(left % 60).padStart(2, '0')}秒`
        : '有効期限が過ぎました。もう一度ログインしてください。';
    if (left === 0) clearInterval(timer);
  };
  const timer = setInterval(tick, 1000);
  tick();
}
