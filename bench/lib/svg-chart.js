/**
 * A horizontal bar chart as a standalone SVG string: one bar per row at its
 * median, a whisker from min to max, the median and the ratio to the peer
 * printed beside it. Lockbox rows are drawn in one colour, the peer in another,
 * the rest in grey, so a reader finds the comparison at a glance.
 *
 * Written by hand (no chart library): the output is small, deterministic for the
 * same input, and renders on GitHub and in any browser.
 */
import { formatRate, formatRatio } from './results.js';

const WIDTH = 760;
const LABEL_WIDTH = 270;
const VALUE_WIDTH = 150;
const BAR_AREA = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20;
const ROW_HEIGHT = 30;
const TOP = 58;
const AXIS_HEIGHT = 28;

const COLOURS = { lockbox: '#2563eb', peer: '#f59e0b', other: '#9ca3af', whisker: '#111827' };

function escapeXml(text) {
  return String(text).replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c],
  );
}

/** Axis maxima whose quarter ticks are round numbers too (× 10^n). */
const NICE_STEPS = [1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10];

/** The smallest nice axis maximum at or above `value`. */
function niceCeiling(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = NICE_STEPS.find((s) => s * magnitude >= value) ?? 10;
  return step * magnitude;
}

function compact(value) {
  if (value >= 1e6) return `${(value / 1e6).toLocaleString('en-US')}M`;
  if (value >= 1e3) return `${(value / 1e3).toLocaleString('en-US')}k`;
  return value.toLocaleString('en-US');
}

/**
 * @param {import('./results.js').ResultGroup} group
 * @returns {string} the SVG document
 */
export function barChart(group) {
  const rows = group.rows;
  const measured = rows.filter((r) => r.status === 'ok');
  const axisMax = niceCeiling(Math.max(1, ...measured.map((r) => r.max)));
  const scale = (value) => (value / axisMax) * BAR_AREA;
  const height = TOP + rows.length * ROW_HEIGHT + AXIS_HEIGHT;
  const x0 = LABEL_WIDTH;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`,
    `<title>${escapeXml(group.title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="600" fill="#111827">${escapeXml(group.title)}</text>`,
    `<text x="10" y="40" fill="#6b7280">${escapeXml(group.unit)}: bar = median, whisker = min–max; (ratio to the peer, in orange)</text>`,
  ];
  for (let tick = 0; tick <= 4; tick++) {
    const value = (axisMax * tick) / 4;
    const x = x0 + scale(value);
    const bottom = TOP + rows.length * ROW_HEIGHT;
    parts.push(
      `<line x1="${x}" y1="${TOP - 6}" x2="${x}" y2="${bottom}" stroke="#e5e7eb"/>`,
      `<text x="${x}" y="${bottom + 18}" text-anchor="middle" fill="#6b7280">${compact(value)}</text>`,
    );
  }
  rows.forEach((r, index) => {
    const y = TOP + index * ROW_HEIGHT;
    const mid = y + ROW_HEIGHT / 2;
    parts.push(
      `<text x="${x0 - 10}" y="${mid + 4}" text-anchor="end" fill="#111827">${escapeXml(r.label)}</text>`,
    );
    if (r.status !== 'ok') {
      parts.push(
        `<text x="${x0 + 4}" y="${mid + 4}" fill="#6b7280" font-style="italic">not available</text>`,
      );
      return;
    }
    const colour =
      r.id === group.peer ? COLOURS.peer : /^lockbox/i.test(r.id) ? COLOURS.lockbox : COLOURS.other;
    const width = Math.max(1, scale(r.median));
    parts.push(
      `<rect x="${x0}" y="${y + 6}" width="${width.toFixed(1)}" height="${ROW_HEIGHT - 12}" rx="2" fill="${colour}"/>`,
      `<line x1="${(x0 + scale(r.min)).toFixed(1)}" y1="${mid}" x2="${(x0 + scale(r.max)).toFixed(1)}" y2="${mid}" stroke="${COLOURS.whisker}" stroke-width="1.5"/>`,
      `<line x1="${(x0 + scale(r.min)).toFixed(1)}" y1="${mid - 5}" x2="${(x0 + scale(r.min)).toFixed(1)}" y2="${mid + 5}" stroke="${COLOURS.whisker}" stroke-width="1.5"/>`,
      `<line x1="${(x0 + scale(r.max)).toFixed(1)}" y1="${mid - 5}" x2="${(x0 + scale(r.max)).toFixed(1)}" y2="${mid + 5}" stroke="${COLOURS.whisker}" stroke-width="1.5"/>`,
      `<text x="${x0 + BAR_AREA + 16}" y="${mid + 4}" fill="#111827">${formatRate(r.median)} <tspan fill="#6b7280">(${formatRatio(r.ratio)})</tspan></text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
