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
  // A match weight as a waterfall: each comparison a floating bar from the running weight
  // before it to the one after, green when it adds evidence, red when it takes some away.
  function drawWaterfalls() {
    var island = document.getElementById("waterfall-data");
    if (!island || typeof Chart === "undefined") { return; }
    JSON.parse(island.textContent).forEach(function (pair, index) {
      var canvas = document.getElementById("waterfall-" + index);
      if (!canvas) { return; }
      var steps = pair.steps.concat([{ step: "=", start: 0, end: pair.weight, bits: pair.weight }]);
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: steps.map(function (s) { return s.step; }),
          datasets: [{
            data: steps.map(function (s) { return [s.start, s.end]; }),
            backgroundColor: steps.map(function (s, i) {
              return i === steps.length - 1 ? "#1f5fa8" : (s.bits >= 0 ? "#3a9d5d" : "#c0392b");
            })
          }]
        },
        options: { animation: false, responsive: true, maintainAspectRatio: false,
                   plugins: { legend: { display: false } } }
      });
      canvas.dataset.drawn = "true";
    });
  }
  function drawAll() { draw(); drawWaterfalls(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
