// Saves a page's answers as they are given, so that nothing is lost when the browser closes
// before the page's button is pressed. Without this script the page works the same, saving at the
// button. The server answers an automatic save with 204; a refusal (an expired link, a changed
// form) leaves the page as it is and says so in the status line.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.FormData || !window.URLSearchParams) {
    return;
  }
  var status = document.getElementById("save-status");
  var pending = null;
  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }
  function save() {
    var data = new URLSearchParams(new FormData(form));
    data.set("go", "stay");
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Autosave": "1" },
      redirect: "manual"
    }).then(function (response) {
      if (response.status === 204) {
        say(form.dataset.saved);
      } else if (response.status === 410 || response.type === "opaqueredirect") {
        // Withdrawn, expired or submitted meanwhile: the start page says which.
        window.location.assign(form.dataset.start);
      } else {
        say(form.dataset.failed);
      }
    }, function () {
      say(form.dataset.failed);
    });
  }
  form.addEventListener("change", function () {
    if (pending) {
      clearTimeout(pending);
    }
    pending = setTimeout(save, 300);
  });
})();
