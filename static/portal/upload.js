// Publishing with visible progress: the upload's bytes as they leave the browser, then the
// server's checking and storing, polled until the listing is ready. Without JavaScript the
// forms post normally and the upload page refreshes itself.
"use strict";

function uploadWithProgress(form) {
  const box = form.querySelector("[data-upload-progress]");
  const bar = box.querySelector("progress");
  const percent = box.querySelector("[data-upload-percent]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("Accept", "application/json");
    box.hidden = false;
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const p = Math.round((100 * e.loaded) / e.total);
      bar.value = p;
      percent.textContent = p === 100 ? "Checking…" : `${p}%`;
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* an error page */ }
      if (xhr.status === 200 && body.redirect) {
        window.location.assign(body.redirect);
        return;
      }
      box.hidden = true;
      showErrors(form, body.errors || { __all__: ["The upload failed; please try again."] });
    });
    xhr.addEventListener("error", () => {
      box.hidden = true;
      showErrors(form, { __all__: ["The connection was lost during the upload; please try again."] });
    });
    xhr.send(new FormData(form));
  });
}

function showErrors(form, errors) {
  form.querySelectorAll(".js-errors").forEach((el) => el.remove());
  for (const [field, messages] of Object.entries(errors)) {
    const input = form.querySelector(`[name="${field}"]`);
    const list = document.createElement("ul");
    list.className = "errorlist js-errors";
    list.setAttribute("role", "alert");
    for (const m of messages) {
      const li = document.createElement("li");
      li.textContent = m;
      list.appendChild(li);
    }
    if (input) input.insertAdjacentElement("afterend", list);
    else form.prepend(list);
  }
}

function followUpload(box) {
  const url = box.dataset.uploadStatus;
  const state = box.querySelector("[data-state]");
  const bar = box.querySelector("[data-bar]");
  const percent = box.querySelector("[data-percent]");
  async function poll() {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const s = await response.json();
    state.textContent = s.state_label;
    if (s.progress_total > 0) {
      const p = Math.round((100 * s.progress_done) / s.progress_total);
      bar.value = p;
      percent.textContent = `${p}%`;
    }
    if (s.state === "ready") {
      bar.value = 100;
      percent.textContent = "100%";
      const done = box.querySelector("[data-done]");
      done.querySelector("[data-link]").href = s.dataset_url;
      done.hidden = false;
      window.location.assign(s.dataset_url);
      return;
    }
    if (s.state === "failed") {
      const problems = box.querySelector("[data-problems]");
      const list = problems.querySelector("ul");
      list.replaceChildren(...s.problems.map((t) => Object.assign(document.createElement("li"), { textContent: t })));
      problems.hidden = false;
      return;
    }
    setTimeout(poll, 700);
  }
  poll();
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-upload-form]").forEach(uploadWithProgress);
  document.querySelectorAll("[data-upload-status]").forEach(followUpload);
});
