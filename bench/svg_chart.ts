/** A small SVG line-chart writer for the bench's curves (no dependency, plain text out). */

/** One line of a chart: a name for the legend and its points, x ascending. */
export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** What a chart shows. */
export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** A logarithmic x axis, ticked at the points' x values (default: linear from 0). */
  readonly xLog?: boolean;
}

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 80, right: 200, top: 40, bottom: 56 };
const COLORS = ["#2f6fdd", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#495057", "#0b7285"];

function escape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** A round step for about five ticks up to `max`. */
function step(max: number): number {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

function label(value: number): string {
  if (value >= 1_000_000) return `${+(value / 1_000_000).toFixed(1)}M`;
  if (value >= 1000) return `${+(value / 1000).toFixed(1)}k`;
  return `${+value.toFixed(1)}`;
}

/**
 * Renders a line chart: linear axes from 0 (or a logarithmic x axis), a tick grid, one polyline with dots per series, and a
 * legend on the right. Points that are not finite are left out.
 */
export function lineChart(chart: Chart): string {
  const points = chart.series.flatMap((s) =>
    s.points.filter(([x, y]) => isFinite(x + y) && (!chart.xLog || x > 0))
  );
  const xMax = Math.max(1, ...points.map(([x]) => x));
  const yMax = Math.max(1e-9, ...points.map(([, y]) => y));
  const xStep = step(xMax);
  const yStep = step(yMax);
  const xTop = Math.ceil(xMax / xStep) * xStep;
  const yTop = Math.ceil(yMax / yStep) * yStep;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const xs = [...new Set(points.map(([x]) => x))].filter((x) => x > 0).sort((a, b) => a - b);
  const [xLow, xHigh] = [xs[0] ?? 1, xs.at(-1) ?? 10];
  const span = Math.log(xHigh / xLow) || 1;
  const px = chart.xLog
    ? (x: number) => MARGIN.left + (Math.log(x / xLow) / span) * plotW
    : (x: number) => MARGIN.left + (x / xTop) * plotW;
  const xTicks = chart.xLog
    ? xs
    : Array.from({ length: Math.round(xTop / xStep) + 1 }, (_, i) => i * xStep);
  const py = (y: number) => MARGIN.top + plotH - (y / yTop) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="15" font-weight="600">${
      escape(chart.title)
    }</text>`,
  ];
  for (let y = 0; y <= yTop + 1e-9; y += yStep) {
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py(y)}" y2="${
        py(y)
      }" stroke="#e9ecef"/>`,
      `<text x="${MARGIN.left - 8}" y="${py(y) + 4}" text-anchor="end" fill="#495057">${
        label(y)
      }</text>`,
    );
  }
  for (const x of xTicks) {
    out.push(
      `<line x1="${px(x)}" x2="${px(x)}" y1="${MARGIN.top + plotH}" y2="${
        MARGIN.top + plotH + 5
      }" stroke="#868e96"/>`,
      `<text x="${px(x)}" y="${MARGIN.top + plotH + 20}" text-anchor="middle" fill="#495057">${
        label(x)
      }</text>`,
    );
  }
  out.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${
      MARGIN.top + plotH
    }" stroke="#868e96"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${
      MARGIN.top + plotH
    }" stroke="#868e96"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 14}" text-anchor="middle">${
      escape(chart.xLabel)
    }</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${
      escape(chart.yLabel)
    }</text>`,
  );
  chart.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length];
    const shown = series.points.filter(([x, y]) => isFinite(x + y) && (!chart.xLog || x > 0));
    if (shown.length > 1) {
      const path = shown.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
      out.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const [x, y] of shown) {
      out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`);
    }
    const ly = MARGIN.top + 10 + i * 20;
    const lx = WIDTH - MARGIN.right + 16;
    out.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${lx + 24}" y="${ly + 4}">${escape(series.name)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
