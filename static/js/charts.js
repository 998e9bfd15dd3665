// Draw every [data-figure] chart with the plotly.js bundle served by planner itself. The figure
// is JSON in a <script type="application/json"> beside it (no inline code, so the CSP holds).
(function () {
  "use strict";
  // On a phone the legend goes under the plot, below the turned day labels, so the plot keeps
  // the whole width and nothing overlaps the title.
  function narrow(layout) {
    const copy = JSON.parse(JSON.stringify(layout));
    copy.legend = { orientation: "h", x: 0, xanchor: "left", y: -0.42, yanchor: "top" };
    copy.margin = Object.assign({}, copy.margin, { t: 44, r: 8, l: 48, b: 170 });
    copy.height = 520;
    if (copy.title && copy.title.font) copy.title.font.size = 14;
    return copy;
  }

  function draw() {
    if (typeof Plotly === "undefined") return;
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      const source = document.getElementById(el.dataset.figure);
      if (!source) return;
      const figure = JSON.parse(source.textContent);
      const layout = el.clientWidth < 560 ? narrow(figure.layout) : figure.layout;
      Plotly.newPlot(el, figure.data, layout, {
        responsive: true,
        displaylogo: false,
        modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
      }).then(function () {
        el.dataset.drawn = "yes";
        // Charts that lead somewhere (the risk heat map opens the list for a cell).
        if (el.dataset.clickUrl) {
          el.on("plotly_click", function (event) {
            const point = event.points && event.points[0];
            if (!point) return;
            window.location.href = el.dataset.clickUrl
              .replace("__X__", encodeURIComponent(point.x))
              .replace("__Y__", encodeURIComponent(point.y));
          });
        }
      });
    });
  }
  if (document.readyState === "complete") draw();
  else window.addEventListener("load", draw);
})();
