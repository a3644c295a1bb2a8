/**
 * Figures and tables: a Vega-Lite spec renders to an SVG carrying its title
 * and data, and to a real PNG of the right size with drawn text; saveFigure
 * writes its files atomically; the CSV writer round-trips awkward values.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import {
  measureTextWidth,
  renderSpec,
  saveFigure,
  saveTable,
  toCsv,
  parseCsv,
  tableRows,
  tableHtml,
  lineChart,
  certifiedAccuracyChart,
  accuracyCurveRows,
} from '../lib/report';
import { accuracyVsRadius } from '../lib/eval/metrics';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: 'Certified accuracy test chart',
  width: 200,
  height: 120,
  data: { values: [{ r: 0, a: 0.9 }, { r: 0.5, a: 0.7 }, { r: 1, a: 0.3 }] },
  mark: 'line',
  encoding: { x: { field: 'r', type: 'quantitative', title: 'radius' }, y: { field: 'a', type: 'quantitative' } },
};

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-report-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Dark pixels of a decoded PNG inside a box (text and lines are drawn dark on white). */
function darkPixels(png: PNG, x0: number, y0: number, x1: number, y1: number): number {
  let k = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = 4 * (y * png.width + x);
      if (png.data[i] < 128 && png.data[i + 1] < 128 && png.data[i + 2] < 128) k++;
    }
  }
  return k;
}

describe('renderSpec', () => {
  test('SVG with the title text and one path through the data; PNG of the right size with visible title text', async () => {
    const fig = await renderSpec(spec, { scale: 2 });
    expect(fig.svg.startsWith('<svg')).toBe(true);
    expect(fig.svg).toContain('Certified accuracy test chart');
    expect(fig.svg).toContain('radius');
    // Axis labels for the data range.
    expect(fig.svg).toMatch(/>0\.8</);
    expect(fig.png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(fig.png.length).toBeGreaterThan(2000);
    const img = PNG.sync.read(fig.png);
    // The chart is width + axes + title in CSS px; the PNG is 2x that.
    expect(fig.width).toBeGreaterThan(200);
    expect(fig.height).toBeGreaterThan(120);
    expect(img.width).toBe(Math.ceil(2 * fig.width));
    expect(img.height).toBe(Math.ceil(2 * fig.height));
    // The title band (top ~20 CSS px) has glyph pixels: text is rendered, not dropped for lack of a font.
    expect(darkPixels(img, 0, 0, img.width, 2 * 18)).toBeGreaterThan(50);
    // A blank spec area (no marks) must not count as text: the check can fail.
    const blank = await renderSpec({ ...spec, title: undefined, mark: { type: 'line', opacity: 0 } }, { scale: 2 });
    const bimg = PNG.sync.read(blank.png);
    expect(darkPixels(bimg, 0, 0, bimg.width, 2 * 8)).toBeLessThan(10);
  });

  test('a long title sets the width as drawn: no blank margin beside it, and no glyph cut off', async () => {
    const title = 'A title far wider than the chart under it, to size the whole figure by its own text width';
    const fig = await renderSpec({ ...spec, title }, { scale: 2 });
    const img = PNG.sync.read(fig.png);
    // Rightmost column with ink in the title band.
    let right = -1;
    for (let x = img.width - 1; x >= 0 && right < 0; x--) if (darkPixels(img, x, 0, x + 1, 2 * 18) > 0) right = x;
    const margin = (img.width - 1 - right) / 2; // CSS px
    // vega pads the view by 5 px; its estimate of 0.8 em per character left 153.5 px here.
    expect(margin).toBeGreaterThan(1);
    expect(margin).toBeLessThan(12);
  });

  test('measureTextWidth: proportional to the font size, wider in bold, narrower for narrow glyphs', () => {
    const w12 = measureTextWidth('certified accuracy (%)', 12)!;
    expect(w12).toBeGreaterThan(0);
    expect(measureTextWidth('certified accuracy (%)', 24)! / w12).toBeCloseTo(2, 1);
    expect(measureTextWidth('certified accuracy (%)', 12, 'bold')!).toBeGreaterThan(w12);
    expect(measureTextWidth('iiiiiiii', 12)!).toBeLessThan(measureTextWidth('MMMMMMMM', 12)! / 2);
    expect(measureTextWidth('', 12)).toBe(0);
  });

  test('a spec that does not compile gives a clear error', async () => {
    await expect(renderSpec({ data: { values: [] }, mark: 'nonsense' })).rejects.toThrow(/Vega-Lite spec does not compile|Invalid mark/);
    await expect(renderSpec([] as unknown as object)).rejects.toThrow(/expected a Vega-Lite spec object/);
  });
});

describe('saveFigure', () => {
  test('writes SVG, PNG and the spec, and leaves no temporary files', async () => {
    const dir = path.join(tmp, 'figures');
    const out = await saveFigure('nb_test_chart', spec, dir);
    expect(out.svg).toBe(path.join(dir, 'nb_test_chart.svg'));
    expect(fs.readFileSync(out.svg, 'utf8')).toContain('Certified accuracy test chart');
    expect(fs.readFileSync(out.png).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(JSON.parse(fs.readFileSync(out.spec, 'utf8'))).toEqual(spec);
    expect(fs.readdirSync(dir).sort()).toEqual(['nb_test_chart.png', 'nb_test_chart.svg', 'nb_test_chart.vl.json']);
    await expect(saveFigure('../escape', spec, dir)).rejects.toThrow(/plain file name/);
  });
});

describe('tables', () => {
  const rows = [
    { name: 'plain', value: 1.25, n: 1000 },
    { name: 'has,comma', value: 0.1 + 0.2, n: 0 },
    { name: 'has "quotes"\nand a line break', value: 1e-9, n: -3 },
    { name: 'missing value', n: 7 },
  ];

  test('CSV round-trips text with commas, quotes and newlines and numbers at full precision', () => {
    const csv = toCsv(rows);
    expect(csv.split('\n')[0]).toBe('name,value,n');
    expect(csv).toContain('"has,comma"');
    expect(csv).toContain('"has ""quotes""\nand a line break"');
    const back = parseCsv(csv);
    expect(back).toEqual([
      { name: 'plain', value: 1.25, n: 1000 },
      { name: 'has,comma', value: 0.30000000000000004, n: 0 },
      { name: 'has "quotes"\nand a line break', value: 1e-9, n: -3 },
      { name: 'missing value', value: null, n: 7 },
    ]);
  });

  test('saveTable writes the CSV; DataFrame-like input (columns + values) is accepted', () => {
    const file = saveTable('t1', rows, path.join(tmp, 'tables'));
    expect(parseCsv(fs.readFileSync(file, 'utf8'))).toHaveLength(4);
    const df = { columns: ['a', 'b'], values: [[1, 'x'], [2, 'y']] };
    expect(tableRows(df)).toEqual({ columns: ['a', 'b'], rows: [[1, 'x'], [2, 'y']] });
    expect(toCsv(df)).toBe('a,b\n1,x\n2,y\n');
    expect(() => toCsv({ nope: 1 } as never)).toThrow(/array of row objects or a DataFrame/);
  });

  test('HTML table escapes markup and rounds for reading', () => {
    const html = tableHtml([{ k: '<b>', v: Math.PI }], { digits: 3 });
    expect(html).toContain('&lt;b&gt;');
    expect(html).toContain('>3.14<');
  });
});

describe('chart builders', () => {
  test('certified-accuracy rows are the exact step function, ending with the drop to 0', () => {
    const records = [
      { radius: 0.5, correct: 1 },
      { radius: 1.0, correct: 1 },
      { radius: 2.0, correct: 0 },
      { radius: 0, correct: 0 },
    ];
    const rows = accuracyCurveRows(accuracyVsRadius(records), 'x');
    expect(rows.map((r) => [r.radius, r.accuracy])).toEqual([
      [0, 0.5],
      [0.5, 0.5],
      [1, 0.25],
      [1.05, 0],
    ]);
    const s = certifiedAccuracyChart([{ label: 'x', curve: accuracyVsRadius(records) }], { title: 'acc' }) as unknown as {
      mark: { interpolate: string };
    };
    expect(s.mark.interpolate).toBe('step-before');
  });

  test('lineChart names a missing field', () => {
    expect(() => lineChart([{ a: 1 }], { x: 'a', y: 'b', title: 't' })).toThrow(/no row has the field 'b'/);
  });
});
