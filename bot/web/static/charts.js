// The overview's charts: the server puts the figures in <script type="application/json" id="chart-data">;
// this draws them with Chart.js (vendor/chart.umd.min.js). No inline script, so the page's CSP stays strict.
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var payload = JSON.parse(source.textContent);
  var data = payload.data, names = payload.names;
  var common = {
    responsive: true, maintainAspectRatio: false, animation: false,
    interaction: { mode: "index", intersect: false },
    scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxRotation: 0, autoSkipPadding: 8 } } },
    plugins: { legend: { position: "bottom" } }
  };
  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { new Chart(canvas, config); }
  }
  draw("chart-tickets", {
    type: "line",
    data: { labels: data.labels, datasets: [
      { label: names.opened, data: data.opened, borderColor: "#1f6feb", backgroundColor: "rgba(31,111,235,.15)", fill: true, tension: 0.25, pointRadius: 2 },
      { label: names.resolved, data: data.resolved, borderColor: "#1a7f37", backgroundColor: "rgba(26,127,55,.1)", fill: false, tension: 0.25, pointRadius: 2 }
    ] },
    options: common
  });
  draw("chart-risk", {
    type: "bar",
    data: { labels: data.labels, datasets: [
      { label: names.risk, data: data.risk, backgroundColor: "#cf222e" }
    ] },
    options: common
  });
  document.documentElement.setAttribute("data-charts", "ready");
})();
