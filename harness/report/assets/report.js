// report.html's charts (inlined into the page after uPlot; no modules, nothing fetched).
// Reads the run's chart data from <script id="lab-data" type="application/json">.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('lab-data').textContent);
  var DASH = { rss: null, live: [2, 3], allocated: [8, 4], free: [8, 3, 2, 3], unmapped: [14, 5] };
  var charts = [];
  // For the browser test and the curious: every chart and the series it shows.
  window.leakLab = {
    charts: charts,
    shown: function (i) {
      var u = charts[i].uplot;
      return u.series.slice(1).filter(function (s) { return s.show; }).map(function (s) { return s.label; });
    },
  };

  // The value under the cursor, or the last one before it: downsampled slots without a
  // sample of their own (counters come every 100 ms) show the value still in force.
  function mibAt(u, v, si, idx) {
    var ys = u.data[si];
    for (var i = idx, n = 0; v == null && i != null && i > 0 && n < 5000; n++) v = ys[--i];
    return v == null ? '-' : v.toFixed(1) + ' MiB';
  }
  function px(u, n) { return Math.round(n * (u.pxRatio || window.devicePixelRatio || 1)); }

  // Phases as alternating bands behind the series, each named at the top.
  function phasesPlugin(sc) {
    return { hooks: { drawClear: function (u) {
      var ctx = u.ctx, b = u.bbox;
      ctx.save();
      ctx.beginPath();
      ctx.rect(b.left, b.top, b.width, b.height);
      ctx.clip();
      ctx.font = px(u, 11) + 'px system-ui, sans-serif';
      ctx.textBaseline = 'top';
      ctx.textAlign = 'left';  // uPlot leaves its axes' alignment on the context
      sc.phases.forEach(function (p, i) {
        var l = Math.max(u.valToPos(p.start, 'x', true), b.left);
        var r = Math.min(u.valToPos(p.end, 'x', true), b.left + b.width);
        if (r <= l) return;
        ctx.fillStyle = i % 2 ? 'rgba(100, 116, 139, 0.13)' : 'rgba(100, 116, 139, 0.05)';
        ctx.fillRect(l, b.top, r - l, b.height);
        ctx.fillStyle = '#64748b';
        if (ctx.measureText(p.name).width + px(u, 8) < r - l) ctx.fillText(p.name, l + px(u, 4), b.top + px(u, 4));
      });
      ctx.restore();
    } } };
  }

  // Release calls as dashed vertical lines in the variant's colour, with a marker at the top.
  function releasesPlugin(sc) {
    return { hooks: { draw: function (u) {
      var ctx = u.ctx, b = u.bbox;
      ctx.save();
      ctx.beginPath();
      ctx.rect(b.left, b.top, b.width, b.height);
      ctx.clip();
      sc.releases.forEach(function (r) {
        var x = Math.round(u.valToPos(r.t, 'x', true));
        ctx.strokeStyle = r.color;
        ctx.lineWidth = px(u, 1.5);
        ctx.setLineDash([px(u, 5), px(u, 4)]);
        ctx.beginPath();
        ctx.moveTo(x, b.top + px(u, 16));
        ctx.lineTo(x, b.top + b.height);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = r.color;
        ctx.beginPath();
        ctx.moveTo(x - px(u, 5), b.top + px(u, 16));
        ctx.lineTo(x + px(u, 5), b.top + px(u, 16));
        ctx.lineTo(x, b.top + px(u, 24));
        ctx.closePath();
        ctx.fill();
      });
      ctx.restore();
    } } };
  }

  function widthOf(el) { return Math.max(320, el.clientWidth); }

  data.scenarios.forEach(function (sc) {
    var el = document.getElementById(sc.id);
    if (!el || sc.series.length === 0) return;
    var series = [{ label: 'time', value: function (u, v) { return v == null ? '-' : v.toFixed(2) + ' s'; } }];
    sc.series.forEach(function (s) {
      series.push({
        label: s.label, stroke: s.color, width: s.kind === 'rss' ? 2 : 1.5, dash: DASH[s.kind] || undefined,
        show: s.kind === 'rss', spanGaps: true, points: { show: false }, value: mibAt,
      });
    });
    var opts = {
      width: widthOf(el), height: 380, series: series,
      scales: { x: { time: false }, y: { range: function (u, min, max) { return [0, Math.max(1, max) * 1.08]; } } },
      axes: [
        { label: 'time (s)', values: function (u, vals) { return vals.map(function (v) { return v + ' s'; }); } },
        { label: 'MiB', size: 64, values: function (u, vals) { return vals.map(function (v) { return String(v); }); } },
      ],
      cursor: { drag: { x: true, y: false }, focus: { prox: 24 } },
      focus: { alpha: 0.35 },
      legend: { live: true },
      plugins: [phasesPlugin(sc), releasesPlugin(sc)],
    };
    var u = new uPlot(opts, [sc.x].concat(sc.series.map(function (s) { return s.y; })), el);
    charts.push({ scenario: sc.name, uplot: u });

    // "Also show" checkboxes: one per kind of counter, for every variant at once. The
    // legend lists a counter only while its kind is shown.
    var rows = u.root.querySelectorAll('.u-legend .u-series');
    function legendFor(kind, on) {
      sc.series.forEach(function (s, i) {
        if (s.kind === kind && rows[i + 1]) rows[i + 1].style.display = on ? '' : 'none';
      });
    }
    sc.series.forEach(function (s) { if (s.kind !== 'rss') legendFor(s.kind, false); });
    var toggles = document.querySelectorAll('[data-chart="' + sc.id + '"] input[data-kind]');
    Array.prototype.forEach.call(toggles, function (box) {
      box.checked = false;
      box.addEventListener('change', function () {
        var kind = box.getAttribute('data-kind');
        legendFor(kind, box.checked);
        sc.series.forEach(function (s, i) {
          if (s.kind === kind) u.setSeries(i + 1, { show: box.checked });
        });
      });
    });
  });

  var pending = 0;
  window.addEventListener('resize', function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () {
      charts.forEach(function (c) { c.uplot.setSize({ width: widthOf(c.uplot.root.parentNode), height: 380 }); });
    });
  });
})();
