import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { axisScale, barChart, CHART_COLORS, escapeXml } from './svgCharts.ts';

const ms = (value: number) => `${value} ms`;

/**
 * A strict check of the XML an SVG viewer parses: every tag closed in order, attribute values
 * quoted, and no raw `<`, `>` or `&` (other than an entity) in text or attributes.
 */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  const entity = /&(?!(?:amp|lt|gt|quot|#39);)/;
  for (const part of svg.split(/(<[^>]*>)/)) {
    if (part === '') continue;
    if (!part.startsWith('<')) {
      assert.doesNotMatch(part, /[<>]/, `raw < or > in text ${JSON.stringify(part)}`);
      assert.doesNotMatch(part, entity, `raw & in text ${JSON.stringify(part)}`);
      continue;
    }
    const tag = /^<(\/)?([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/)?>$/.exec(part);
    assert.ok(tag, `not a well-formed tag: ${part}`);
    const [, closing, name, attributes, selfClosing] = tag;
    assert.doesNotMatch(attributes!, entity, `raw & in attributes of ${part}`);
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes another element`);
    else if (!selfClosing) stack.push(name!);
  }
  assert.deepEqual(stack, [], 'every element is closed');
  assert.match(
    svg,
    /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/,
  );
}

function bars(svg: string): { x: number; width: number; fill: string }[] {
  return [
    ...svg.matchAll(
      /<rect class="bar" x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="\d+" fill="([^"]+)"\/>/g,
    ),
  ].map((match) => ({ x: Number(match[1]), width: Number(match[2]), fill: match[3]! }));
}

function limits(svg: string): number[] {
  return [...svg.matchAll(/<line class="limit" x1="([\d.]+)"/g)].map((match) => Number(match[1]));
}

describe('barChart', () => {
  it('draws one bar per item, its length proportional to the value', () => {
    const svg = barChart({
      title: 'Recovery',
      items: [
        { label: 'a', value: 100 },
        { label: 'b', value: 200 },
        { label: 'c', value: 400 },
      ],
      formatValue: ms,
    });
    assertWellFormed(svg);
    const drawn = bars(svg);
    assert.equal(drawn.length, 3);
    assert.ok(Math.abs(drawn[1]!.width / drawn[0]!.width - 2) < 0.01, JSON.stringify(drawn));
    assert.ok(Math.abs(drawn[2]!.width / drawn[0]!.width - 4) < 0.01, JSON.stringify(drawn));
    // All start at the axis' zero.
    assert.equal(new Set(drawn.map((bar) => bar.x)).size, 1);
    for (const label of ['100 ms', '200 ms', '400 ms']) assert.ok(svg.includes(`>${label}</text>`), label);
  });

  it('has an axis with round ticks from 0 past the largest value', () => {
    const svg = barChart({ title: 'T', items: [{ label: 'a', value: 870 }], formatValue: ms });
    const ticks = [...svg.matchAll(/text-anchor="middle" fill="[^"]+">([^<]+)<\/text>/g)].map((m) => m[1]);
    assert.deepEqual(ticks, ['0 ms', '200 ms', '400 ms', '600 ms', '800 ms', '1000 ms']);
  });

  it('draws a limit marker where the limit is, and colours each bar by whether it met it', () => {
    const svg = barChart({
      title: 'Recovery',
      items: [
        { label: 'fast', value: 500, limit: 2000, met: true },
        { label: 'slow', value: 3000, limit: 2000, met: false },
        { label: 'no verdict', value: 1000 },
      ],
      formatValue: ms,
      limitLabel: 'expected',
    });
    assertWellFormed(svg);
    const drawn = bars(svg);
    assert.deepEqual(
      drawn.map((bar) => bar.fill),
      [CHART_COLORS.met, CHART_COLORS.missed, CHART_COLORS.unknown],
    );
    const markers = limits(svg);
    assert.equal(markers.length, 2, 'a marker for each item with a limit');
    // The marker sits at 2000 on the axis that the 3000 bar spans to 3000.
    const zero = drawn[0]!.x;
    const perUnit = drawn[1]!.width / 3000;
    for (const x of markers) assert.ok(Math.abs(x - (zero + 2000 * perUnit)) < 0.2, `marker at ${x}`);
    assert.match(svg, />expected<\/text>/, 'the legend names the marker');
    assert.match(svg, /<title>slow: 3000 ms, expected 2000 ms<\/title>/);
  });

  it('keeps a note inside the chart when the marker is at its far end', () => {
    const svg = barChart({
      title: 'T',
      items: [{ label: 'api', value: null, limit: 300_000, note: 'no incident resolved yet' }],
      formatValue: ms,
    });
    const note = /<text x="([\d.]+)"[^>]*>no incident resolved yet<\/text>/.exec(svg);
    assert.ok(note, svg);
    assert.ok(Number(note[1]) + 'no incident resolved yet'.length * 6.5 <= 720, `note at ${note[1]}`);
  });

  it('shows a note and no bar for an item without a value', () => {
    const svg = barChart({
      title: 'T',
      items: [
        { label: 'measured', value: 10 },
        { label: 'refused', value: null, note: 'aborted: not measured' },
      ],
      formatValue: ms,
    });
    assertWellFormed(svg);
    assert.equal(bars(svg).length, 1);
    assert.match(svg, />aborted: not measured<\/text>/);
  });

  it('escapes every text and drops characters XML does not allow', () => {
    const nasty = `<script>alert("x")</script> & 'quotes' \u0001`;
    const svg = barChart({
      title: `Title ${nasty}`,
      items: [{ label: nasty, value: 1, note: nasty }],
      formatValue: () => '<1 & >0',
      limitLabel: '<limit>',
    });
    assertWellFormed(svg);
    assert.ok(!svg.includes('<script>'));
    assert.ok(!svg.includes('\u0001'));
    assert.ok(svg.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;'));
    assert.equal(escapeXml('a<b>&"\''), 'a&lt;b&gt;&amp;&quot;&#39;');
  });

  it('shortens long labels, keeping the whole one in the tooltip', () => {
    const label = 'A killed replica of payment-api is replaced within two seconds';
    const svg = barChart({ title: 'T', items: [{ label, value: 5 }], formatValue: ms });
    assert.ok(svg.includes(`<title>${label}: 5 ms</title>`));
    assert.ok(svg.includes('>A killed replica of payment-api is…</text>'));
  });

  it('says "no data" when there is nothing to draw', () => {
    const svg = barChart({ title: 'Recovery', items: [], formatValue: ms });
    assertWellFormed(svg);
    assert.equal(bars(svg).length, 0);
    assert.match(svg, /<text class="empty"[^>]*>no data<\/text>/);
    const custom = barChart({ title: 'Recovery', items: [], formatValue: ms, emptyText: 'no run yet' });
    assert.match(custom, />no run yet<\/text>/);
  });

  it('is the same text for the same input, with coordinates to one decimal', () => {
    const options = {
      title: 'T',
      items: [
        { label: 'a', value: 333.333, limit: 1000 / 3, met: true },
        { label: 'b', value: 0.7 },
      ],
      formatValue: ms,
    };
    const svg = barChart(options);
    assert.equal(barChart(options), svg);
    for (const match of svg.matchAll(/\s(?:x|y|x1|x2|y1|y2|width)="([^"]+)"/g)) {
      assert.match(match[1]!, /^\d+(\.\d)?$/, `coordinate ${match[0]}`);
    }
  });

  it('draws a measured 0 as a stub, so it differs from an item without a value', () => {
    const svg = barChart({ title: 'T', items: [{ label: 'instant', value: 0, met: true }], formatValue: ms });
    assertWellFormed(svg);
    assert.equal(bars(svg)[0]!.width, 2);
    assert.match(svg, />0 ms<\/text>/);
  });
});

describe('axisScale', () => {
  it('picks 1, 2 or 5 × 10ⁿ steps and a maximum at or above the largest value', () => {
    assert.deepEqual(axisScale(870), { max: 1000, step: 200 });
    assert.deepEqual(axisScale(2000), { max: 2000, step: 500 });
    assert.deepEqual(axisScale(12_345), { max: 15_000, step: 5000 });
    assert.deepEqual(axisScale(0.3), { max: 0.3, step: 0.1 });
    assert.deepEqual(axisScale(0), { max: 1, step: 0.25 });
    const durations = [1000, 2000, 5000, 15_000, 30_000, 60_000, 120_000, 300_000];
    assert.deepEqual(axisScale(111_000, durations), { max: 120_000, step: 30_000 });
    assert.deepEqual(axisScale(12_000, durations), { max: 15_000, step: 5000 });
    assert.deepEqual(
      axisScale(1e9, durations),
      { max: 1e9, step: 2e8 },
      'past the given steps: 1, 2, 5 × 10ⁿ',
    );
    for (const largest of [1, 7, 99, 101, 4321, 60_000, 300_000]) {
      const { max, step } = axisScale(largest);
      assert.ok(
        max >= largest && max / step <= 5 && max / step >= 2,
        `${largest}: ${max} in steps of ${step}`,
      );
    }
  });
});
