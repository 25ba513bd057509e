// The analytics dashboard's trend charts, drawn by Chart.js from the page's JSON
// (#analytics-trends). A created or solved bar opens the list of the tickets behind it.
(function () {
  "use strict";
  var source = document.getElementById("analytics-trends");
  if (!source || typeof window.Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  var rows = data.rows;
  var labels = rows.map(function (row) { return row.label; });
  var style = getComputedStyle(document.documentElement);
  var colour = function (name, fallback) {
    return (style.getPropertyValue(name) || "").trim() || fallback;
  };
  var created = "#8aa6d6";
  var solved = colour("--ok", "#2f855a");
  var ink = colour("--muted", "#5b6472");

  // As the page's tables write times (analytics_tags.figure).
  function minutes(value) {
    if (value === null || value === undefined) return "—";
    if (value < 90) return Math.round(value) + " min";
    if (value < 48 * 60) return (value / 60).toFixed(1) + " h";
    return (value / 1440).toFixed(1) + " d";
  }

  function base(yTick) {
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { labels: { color: ink, boxWidth: 12 } } },
      scales: {
        x: { ticks: { color: ink, autoSkip: true, maxRotation: 0 }, grid: { display: false } },
        y: { beginAtZero: true, ticks: { color: ink, precision: 0, callback: yTick } },
      },
    };
  }

  var volume = document.getElementById("chart-volume");
  if (volume) {
    var options = base();
    options.interaction = { mode: "nearest", intersect: true };
    options.onClick = function (event, elements) {
      if (!elements.length) return;
      var row = rows[elements[0].index];
      window.location.href = elements[0].datasetIndex === 0 ? row.created_url : row.solved_url;
    };
    options.onHover = function (event, elements) {
      event.native.target.style.cursor = elements.length ? "pointer" : "default";
    };
    new window.Chart(volume, {
      type: "bar",
      data: {
        labels: labels,
        datasets: [
          { label: "Created", data: rows.map(function (r) { return r.created; }), backgroundColor: created },
          { label: "Solved", data: rows.map(function (r) { return r.solved; }), backgroundColor: solved },
        ],
      },
      options: options,
    });
  }

  function line(id, label, values, stroke, format) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    var options = base(format);
    if (format) {
      options.plugins.tooltip = {
        callbacks: { label: function (item) { return label + ": " + format(item.parsed.y); } },
      };
    }
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: [{ label: label, data: values, borderColor: stroke, backgroundColor: stroke,
                     pointRadius: 2.5, spanGaps: false, tension: 0.2 }],
      },
      options: options,
    });
  }

  line("chart-backlog", "Open at the end", rows.map(function (r) { return r.backlog; }), created);
  line("chart-response", "Median first response",
       rows.map(function (r) { return r.first_response_median; }), solved, minutes);
})();
