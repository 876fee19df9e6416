// Screen-reader announcements (the aria-live region in index.html) and the visible alert banner.
const region = () => document.getElementById("announcer");

export function announce(message) {
  const el = region();
  // Clearing first makes a repeated message be read again.
  el.textContent = "";
  window.setTimeout(() => { el.textContent = message; }, 50);
}

export function alertBanner(message) {
  const el = document.getElementById("alert");
  if (!message) { el.hidden = true; el.textContent = ""; return; }
  el.hidden = false;
  el.textContent = message;
}
