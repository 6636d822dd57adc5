// Kinerja: progressive enhancement only; every action works without this file.
(function () {
  "use strict";
  // Move focus to a form's error summary when a page (or an htmx swap) brings one.
  function focusErrors(root) {
    var summary = (root || document).querySelector(".kj-error-summary");
    if (summary) { summary.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () { focusErrors(document); });
  document.addEventListener("htmx:afterSwap", function (e) { focusErrors(e.target); });
  // Forms marked data-confirm ask before they are sent.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { e.preventDefault(); }
  }, true);
})();
