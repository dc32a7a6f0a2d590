// Ask before a destructive form is submitted (forms marked data-confirm), in a <dialog> of the
// page's own look instead of the browser's confirm(): the question, Cancel (focused first, so
// Enter does no harm) and the action, named. Escape cancels; focus goes back to the button.
(function () {
  "use strict";

  var dialog = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-text");
    dialog.innerHTML =
      '<form method="dialog">' +
      '<p id="confirm-dialog-text" data-role="question"></p>' +
      '<div class="dialog__actions">' +
      '<button type="submit" value="cancel" class="button" data-role="cancel">Cancel</button>' +
      '<button type="submit" value="confirm" class="button button--danger" data-role="confirm"></button>' +
      "</div></form>";
    document.body.appendChild(dialog);
  }

  function ask(form, opener) {
    if (!dialog) build();
    dialog.querySelector('[data-role="question"]').textContent = form.getAttribute("data-confirm");
    dialog.querySelector('[data-role="confirm"]').textContent = form.getAttribute("data-confirm-action") || "Confirm";
    dialog.returnValue = "";
    dialog.onclose = function () {
      if (dialog.returnValue === "confirm") {
        form.setAttribute("data-confirmed", "");
        form.submit();
      } else if (opener) {
        opener.focus();
      }
    };
    dialog.showModal();
    dialog.querySelector('[data-role="cancel"]').focus();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-confirm") || form.hasAttribute("data-confirmed")) return;
    event.preventDefault();
    ask(form, event.submitter || form.querySelector('[type="submit"]'));
  });
})();
