// Draw Figure 2 from the snapshot's plotly JSON, with the plotly.js served by the portal itself.
(function () {
  "use strict";
  var holder = document.getElementById("survey-chart");
  var source = document.getElementById("survey-chart-data");
  if (!holder || !source || !window.Plotly) { return; }
  var figure = JSON.parse(source.textContent);
  window.Plotly.newPlot(holder, figure.data, figure.layout, {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["sendDataToCloud"]
  }).then(function () { holder.setAttribute("data-drawn", "true"); });
})();
