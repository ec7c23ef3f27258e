// Shared page behaviour, loaded on every page.
// Hooks (stable selectors):
//   [data-copy="TEXT"]        button copying TEXT; status shown in its [data-copy-status] sibling
//                              or in the button itself
//   form[data-confirm="TEXT"] asks before submitting (delete forms)
(function () {
  "use strict";

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (error) {
      ok = false;
    }
    document.body.removeChild(area);
    return ok;
  }

  function report(button, text) {
    var status = button.parentElement && button.parentElement.querySelector("[data-copy-status]");
    if (status) {
      status.textContent = text;
      return;
    }
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = text;
    window.setTimeout(function () { button.textContent = label; }, 1500);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return fallbackCopy(text); }
      );
    }
    return Promise.resolve(fallbackCopy(text));
  }

  window.OpenProvider = window.OpenProvider || {};
  window.OpenProvider.copyText = copyText;

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    copyText(button.getAttribute("data-copy")).then(function (ok) {
      report(button, ok ? "Copied" : "Copy failed");
    });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
