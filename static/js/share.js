// Copy or share an invitation link. Without JavaScript the link can still be selected, and the
// "text message" and "email" links open the phone's own apps with the link written in.
for (const box of document.querySelectorAll("[data-portal-share]")) {
  const link = box.querySelector("#invitation-link").textContent.trim();
  const status = box.querySelector("[data-portal-copied]");
  const copy = box.querySelector("[data-portal-copy]");
  const share = box.querySelector("[data-portal-share-button]");
  if (navigator.clipboard && window.isSecureContext) {
    copy.hidden = false;
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(link);
        status.textContent = status.dataset.copied;
      } catch {
        status.textContent = status.dataset.notCopied;
      }
    });
  }
  if (navigator.share) {
    share.hidden = false;
    share.addEventListener("click", () => {
      navigator.share({ title: box.dataset.shareTitle, text: box.dataset.shareText }).catch(() => {});
    });
  }
}
