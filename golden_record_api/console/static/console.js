// Draws the dashboard's charts from the page's JSON data island (no inline script: the
// Content-Security-Policy allows scripts from this origin only).
(function () {
  "use strict";
  function draw() {
    var island = document.getElementById("chart-data");
    if (!island || typeof Chart === "undefined") { return; }
    var data = JSON.parse(island.textContent);
    data.charts.forEach(function (chart) {
      var canvas = document.getElementById("chart-" + chart.id);
      if (!canvas) { return; }
      new Chart(canvas, {
        type: chart.id === "tickets" ? "bar" : "line",
        data: {
          labels: chart.months,
          datasets: [{ data: chart.values, borderColor: "#1f5fa8", backgroundColor: "#7aa6d8",
                       spanGaps: true, tension: 0.2 }]
        },
        options: { animation: false, responsive: true, maintainAspectRatio: false,
                   plugins: { legend: { display: false } } }
      });
      canvas.dataset.drawn = "true";
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
