// Starts the NHS.UK frontend components. Loaded as a module: the page works without it.
import { initAll } from "../vendor/nhsuk/nhsuk-frontend.min.js";
import "./timeout.js"; // the warning before the idle sign-out; taking back kept typing

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();

// Long plan sections start closed on a phone, so the summary and the crisis plan are near the
// top; a contents link or an address with #section opens the one it leads to. Without
// JavaScript every section stays open.
const phone = window.matchMedia("(max-width: 40.0525em)");
const sections = document.querySelectorAll("details[data-portal-collapse]");
const openTarget = () => {
  const id = decodeURIComponent(window.location.hash.slice(1));
  const target = id && document.getElementById(id);
  const section = target && target.closest("details[data-portal-collapse]");
  if (section) section.open = true;
};
if (phone.matches) {
  for (const section of sections) section.open = false;
}
openTarget();
window.addEventListener("hashchange", openTarget);
