// Starts the NHS.UK frontend components. Loaded as a module: the page works without it.
import { initAll } from "../vendor/nhsuk/nhsuk-frontend.min.js";
import "./timeout.js"; // the warning before the idle sign-out; taking back kept typing

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();
