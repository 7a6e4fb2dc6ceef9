// The warning before the idle sign-out, and taking back what was typed before one.
//
// The server signs a person out after a set time without a request. Two minutes before, a
// modal dialog offers to stay signed in (GOV.UK / NHS.UK timeout warning pattern). If nobody
// answers, what the page's forms hold is sent to be kept for the account, and the page
// reloads to the sign-in page. Another tab may have kept the session going: before warning,
// the server is asked how long is really left.

const SAFETY_SECONDS = 5; // send the forms this long before the server would sign out

function csrfToken() {
  const input = document.querySelector('input[name="csrf_token"]');
  return input ? input.value : "";
}

function post(url, body) {
  return fetch(url, {
    method: "POST",
    body: body || new FormData(),
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
  });
}

function typedForms() {
  // Every form in the page's content that sends something (not searches or the language).
  const data = new FormData();
  document.querySelectorAll("main form[method='post' i]").forEach((form) => {
    if (form.closest(".portal-kept")) return;
    new FormData(form).forEach((value, name) => {
      if (typeof value === "string") data.append(name, value);
    });
  });
  data.append("_path", window.location.pathname);
  return data;
}

function startWarning(dialog) {
  const idle = Number(dialog.dataset.idle);
  const warn = Number(dialog.dataset.warn);
  let warnTimer = null;
  let endTimer = null;

  function schedule(secondsLeft) {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(check, Math.max(0, secondsLeft - warn) * 1000);
  }

  async function check() {
    let left = warn;
    try {
      const response = await fetch(dialog.dataset.remainingUrl, { credentials: "same-origin" });
      if (response.ok && response.headers.get("Content-Type")?.includes("json")) {
        left = (await response.json()).seconds;
      }
    } catch {
      // Offline: warn on this page's own count.
    }
    if (left > warn + SAFETY_SECONDS) {
      schedule(left); // used in another tab meanwhile
      return;
    }
    if (!dialog.open) dialog.showModal();
    endTimer = setTimeout(keepAndLeave, Math.max(0, left - SAFETY_SECONDS) * 1000);
  }

  async function stay() {
    clearTimeout(endTimer);
    if (dialog.open) dialog.close();
    try {
      await post(dialog.dataset.stayUrl);
    } finally {
      schedule(idle);
    }
  }

  async function keepAndLeave() {
    try {
      await post(dialog.dataset.keepUrl, typedForms());
    } finally {
      window.location.reload();
    }
  }

  dialog.querySelector("[data-timeout-stay]").addEventListener("click", stay);
  dialog.addEventListener("keydown", (event) => {
    // Tab and Shift+Tab go round the warning's buttons, never to the page behind it.
    if (event.key !== "Tab") return;
    const buttons = Array.from(dialog.querySelectorAll("button"));
    const first = buttons[0];
    const last = buttons[buttons.length - 1];
    if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    } else if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    }
  });
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault(); // Escape means "stay signed in"
    stay();
  });
  schedule(idle);
}

function setField(field, values) {
  if (field.type === "radio" || field.type === "checkbox") {
    field.checked = values.includes(field.value);
  } else if (field.tagName === "SELECT" && field.multiple) {
    Array.from(field.options).forEach((o) => { o.selected = values.includes(o.value); });
  } else if (field.type !== "file" && field.type !== "submit" && field.type !== "button") {
    field.value = values.shift() ?? field.value;
  }
  field.dispatchEvent(new Event("input", { bubbles: true }));
  field.dispatchEvent(new Event("change", { bubbles: true }));
}

function startRestore(panel) {
  const button = panel.querySelector("[data-kept-restore]");
  const discard = panel.querySelector("[data-kept-discard]");
  const kept = JSON.parse(panel.dataset.keptFields);
  button.hidden = false;
  button.addEventListener("click", async () => {
    Object.entries(kept).forEach(([name, values]) => {
      const remaining = [...values];
      document.querySelectorAll("main form [name]").forEach((field) => {
        if (field.name === name && !field.closest(".portal-kept")) setField(field, remaining);
      });
    });
    await post(discard.action);
    button.hidden = true;
    discard.hidden = true;
    panel.querySelector(".portal-kept__done").hidden = false;
    panel.focus();
  });
}

const dialog = document.getElementById("portal-timeout");
if (dialog && typeof dialog.showModal === "function") startWarning(dialog);
const panel = document.querySelector(".portal-kept[data-kept-fields]");
if (panel) startRestore(panel);
