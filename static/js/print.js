// "Print this page" on the crisis page. Without JavaScript the hint to use the browser's print
// option stays; with it, the button replaces the hint. No inline script: the CSP forbids it.
for (const button of document.querySelectorAll("[data-portal-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
  const hint = button.parentElement.querySelector("[data-portal-print-hint]");
  if (hint) hint.hidden = true;
}
