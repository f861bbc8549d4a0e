// The access request form: checks the row filter as it is typed (POST to the form's
// data-check-url) and says how the portal understood it. A static file, so the page needs no
// inline script under the Content-Security-Policy.
(function () {
  "use strict";
  document.querySelectorAll("form.request-form[data-check-url]").forEach(function (form) {
    var input = form.querySelector("#filter"), out = form.querySelector("#filter-check");
    if (!input || !out) { return; }
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(async function () {
        var body = new FormData();
        body.append("filter", input.value);
        body.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
        var answer = await fetch(form.dataset.checkUrl, {method: "POST", body: body, credentials: "same-origin"});
        var data = await answer.json();
        out.textContent = data.ok ? (data.canonical ? "Understood as: " + data.canonical : "") : data.error;
        out.className = data.ok ? "note" : "error";
      }, 300);
    });
  });
})();
