// Draw every chart of a dashboard from its plotly JSON, with the plotly.js the portal serves
// itself; and, on the storage dashboard, follow a running Table 1 experiment.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (source && window.Plotly) {
    var figures = JSON.parse(source.textContent);
    Object.keys(figures).forEach(function (name) {
      var holder = document.getElementById("chart-" + name);
      if (!holder) { return; }
      var figure = figures[name];
      var first = figure.data[0] || { y: [] };
      var total = (first.y || []).reduce(function (a, b) { return a + b; }, 0);
      window.Plotly.newPlot(holder, figure.data, figure.layout, {
        responsive: true,
        displaylogo: false,
        modeBarButtonsToRemove: ["sendDataToCloud"]
      }).then(function () {
        holder.setAttribute("data-total", String(total));
        holder.setAttribute("data-drawn", "true");
      });
    });
  }

  var progress = document.getElementById("table1-progress");
  if (!progress) { return; }
  var bar = progress.querySelector("progress");
  var text = progress.querySelector("[data-role=text]");
  function poll() {
    fetch(progress.getAttribute("data-status-url"), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (run) {
        bar.max = run.trials;
        bar.value = run.trials_done;
        text.textContent = run.status + ": " + run.trials_done + " of " + run.trials +
          " trials (" + run.percent + " %)" + (run.error ? " — " + run.error : "");
        progress.setAttribute("data-status", run.status);
        if (run.status === "done") {
          window.location.reload();
        } else if (run.status !== "failed") {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
