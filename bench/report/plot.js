// Latency against offered rate as an SVG: node bench/report/plot.js <summary.json>  >  plot.svg
// p99 (solid) and p50 (dashed) per rate, one colour per system, both axes logarithmic, the 10 ms
// bar as a line. A hollow point is a run with failures or under 95% of its rate reached.
const fs = require('fs');
const { clean } = require('./targets');

const s = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const COLORS = { baseline: '#555555', durable: '#d62728', fast: '#1f77b4' };
const W = 860;
const H = 500;
const M = { left: 70, right: 190, top: 64, bottom: 56 };
const esc = (t) => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const series = Object.entries(s.open).filter(([system]) => COLORS[system]);
const runs = series.flatMap(([, r]) => r);
const rates = [...new Set(runs.map((r) => r.rate))].sort((a, b) => a - b);
const values = runs.flatMap((r) => [r.latency_ms.p50, r.latency_ms.p99]).filter((v) => v > 0);
const [x0, x1] = rates.length ? [rates[0] / 1.4, rates[rates.length - 1] * 1.4] : [1, 10];
const y0 = Math.min(0.2, ...values) / 1.3;
const y1 = Math.max(20, ...values) * 1.3;
const x = (v) => M.left + ((Math.log(v) - Math.log(x0)) / (Math.log(x1) - Math.log(x0))) * (W - M.left - M.right);
const y = (v) => H - M.bottom - ((Math.log(v) - Math.log(y0)) / (Math.log(y1) - Math.log(y0))) * (H - M.top - M.bottom);
const n = (v) => v.toFixed(1);

const out = [];
const add = (t) => out.push(t);
add(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
);
add(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
const c = s.context || {};
const measured = [...runs, ...Object.values(s.ceiling || {}), ...(s.mixed ? [s.mixed] : [])];
const others = measured.length ? measured.reduce((n, r) => n + r.machine.others_cores, 0) / measured.length : 0;
const m = c.machine || {};
add(
  `<text x="${M.left}" y="24" font-size="16" font-weight="bold">Reserve latency against offered rate (open loop)</text>`,
);
add(
  `<text x="${M.left}" y="44" fill="#444">${esc(`${c.started || ''}, commit ${c.commit || '?'}${c.dirty ? '+' : ''}; ${m.nproc} x ${m.model}; other jobs used ${others.toFixed(2)} cores on average`)}</text>`,
);

// Grid and axes.
const yTicks = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000].filter(
  (t) => t >= y0 && t <= y1,
);
for (const t of yTicks) {
  add(`<line x1="${M.left}" x2="${W - M.right}" y1="${n(y(t))}" y2="${n(y(t))}" stroke="#e4e4e4"/>`);
  add(`<text x="${M.left - 8}" y="${n(y(t) + 4)}" text-anchor="end">${t}</text>`);
}
for (const r of rates) {
  add(`<line x1="${n(x(r))}" x2="${n(x(r))}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eeeeee"/>`);
  add(`<text x="${n(x(r))}" y="${H - M.bottom + 18}" text-anchor="middle">${r}</text>`);
}
add(
  `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#888"/>`,
);
add(
  `<text x="${(M.left + W - M.right) / 2}" y="${H - 14}" text-anchor="middle">offered rate, Reserve/s (log scale)</text>`,
);
add(
  `<text transform="translate(20 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">latency, ms (log scale)</text>`,
);
if (10 >= y0 && 10 <= y1) {
  add(
    `<line x1="${M.left}" x2="${W - M.right}" y1="${n(y(10))}" y2="${n(y(10))}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="6 4"/>`,
  );
  add(`<text x="${W - M.right - 6}" y="${n(y(10) - 6)}" text-anchor="end" fill="#2ca02c">p99 bar: 10 ms</text>`);
}

// Lines and points.
for (const [system, list] of series) {
  const color = COLORS[system];
  for (const [q, dash, width] of [
    ['p99', '', 2.5],
    ['p50', '5 4', 1.5],
  ]) {
    const pts = list.filter((r) => r.latency_ms[q] > 0);
    add(
      `<polyline fill="none" stroke="${color}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts.map((r) => `${n(x(r.rate))},${n(y(r.latency_ms[q]))}`).join(' ')}"/>`,
    );
    for (const r of pts) {
      const fill = clean(r) ? color : '#ffffff';
      add(
        `<circle cx="${n(x(r.rate))}" cy="${n(y(r.latency_ms[q]))}" r="${q === 'p99' ? 4.5 : 3}" fill="${fill}" stroke="${color}" stroke-width="1.5"><title>${esc(`${system} ${r.rate}/s ${q} ${r.latency_ms[q].toFixed(2)} ms, ${r.achieved_rate.toFixed(0)}/s achieved, ${r.failed} failed`)}</title></circle>`,
      );
    }
  }
}

// Legend.
let ly = M.top + 10;
const lx = W - M.right + 18;
for (const [system] of series) {
  for (const [q, dash, width] of [
    ['p99', '', 2.5],
    ['p50', '5 4', 1.5],
  ]) {
    add(
      `<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${COLORS[system]}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
    );
    add(`<text x="${lx + 36}" y="${ly + 4}">${system} ${q}</text>`);
    ly += 20;
  }
  ly += 6;
}
add(`<circle cx="${lx + 14}" cy="${ly + 4}" r="4.5" fill="#ffffff" stroke="#555" stroke-width="1.5"/>`);
add(`<text x="${lx + 36}" y="${ly + 8}">failed calls, or</text>`);
add(`<text x="${lx + 36}" y="${ly + 24}">&lt; 95% of the rate</text>`);
add('</svg>');
process.stdout.write(out.join('\n') + '\n');
