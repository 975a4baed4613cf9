// Small enhancements wired by attributes, so templates never need an inline script:
//
// Copy buttons
//   <button type="button" class="copy" data-copy="the text">Copy</button>
//     copies the attribute's value;
//   <button type="button" class="copy" data-copy-target="#element-id">Copy</button>
//     copies that element's text (an input's value).
//   The label reads "Copied" for two seconds. Without JavaScript the buttons are hidden
//   (herald.css shows `.copy` only under <html class="js">, which this file sets).
//
// Confirmations
//   <form method="post" data-confirm="Revoke token “x”? Apps using it stop at once.">
//     asks before submitting; Cancel keeps the page as it is. Without JavaScript the form
//     submits directly (the action must stay safe to submit).
(() => {
  document.documentElement.classList.add("js");

  // The Clipboard API needs a secure context (and may be refused); plain http on a private
  // network, or a refusal, falls back to the older selection command.
  async function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return;
      } catch {
        // Refused (no permission or no focus): try the selection command below.
      }
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) throw new Error("copy refused");
  }

  function textFor(button) {
    if (button.dataset.copy !== undefined) return button.dataset.copy;
    const target = document.querySelector(button.dataset.copyTarget);
    if (!target) return "";
    const field = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
    return field ? target.value : target.textContent.trim();
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.copy");
    if (!button) return;
    const label = button.dataset.label ?? button.textContent;
    button.dataset.label = label;
    try {
      await copy(textFor(button));
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed";
    }
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(() => { button.textContent = label; }, 2000);
  });

  document.addEventListener("submit", (event) => {
    const message = event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
