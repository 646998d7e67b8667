// The card reader's answer goes back to the portal as a form POST. Submit it at once when scripts
// run; without them the resident presses the button, which the page shows either way.
const form = document.querySelector('form[data-auto-submit]');
if (form instanceof HTMLFormElement) form.submit();
