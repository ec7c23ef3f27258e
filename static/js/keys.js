// Copy buttons on the API keys page: <button data-copy-target="ID"> copies the value of #ID.
(function () {
  "use strict";

  function report(button, text) {
    var status = button.parentElement.querySelector("[data-copy-status]");
    if (status) {
      status.textContent = text;
    }
  }

  function copyWithSelection(field) {
    field.focus();
    field.select();
    return document.execCommand("copy");
  }

  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) {
      return;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { report(button, "Copied."); },
        function () { report(button, copyWithSelection(field) ? "Copied." : "Select and copy it."); }
      );
      return;
    }
    report(button, copyWithSelection(field) ? "Copied." : "Select and copy it.");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (button) {
      copy(button);
    }
  });
})();
