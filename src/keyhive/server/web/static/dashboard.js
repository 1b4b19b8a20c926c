// keyhive dashboard: the only script. Copy buttons for a new token, and the address of a
// page that showed one is replaced, so reloading fetches the plain page (no token, no resend).
// Leaving the page removes the token too, so the back button cannot bring it back from the
// browser's back-forward cache.
"use strict";
window.addEventListener("pagehide", function () {
  document.querySelectorAll(".new-token").forEach(function (section) { section.remove(); });
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      field.select();
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
  var replace = document.body.getAttribute("data-replace-url");
  if (replace) { history.replaceState(null, "", replace); }
});
