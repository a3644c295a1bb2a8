/**
 * The literature CSVs against the paper itself: the test reads the text of
 * the paper (/work/shared/paper/splitz-paper.txt, or SPLITZ_PAPER_TXT) at run
 * time, finds each table by its "TABLE X" heading, parses its rows and
 * compares every cell with data/literature, so it does not trust the
 * transcription. The prose numbers are checked against their quotes and
 * against the tables.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AccuracyRow, LITERATURE_DIR, LITERATURE_FILES, LiteratureError, findPaperNumbers, loadLiterature, splitzPaperTokens } from '../lib/report/literature';

const PAPER = process.env.SPLITZ_PAPER_TXT ?? '/work/shared/paper/splitz-paper.txt';
const havePaper = fs.existsSync(PAPER);
const paperLines = havePaper ? fs.readFileSync(PAPER, 'utf8').split('\n') : [];
const withPaper = havePaper ? test : test.skip;

/** The tab-separated lines of the table under the heading `TABLE <roman>` (header lines included). */
function paperTable(roman: string): string[][] {
  const start = paperLines.findIndex((l) => l.trim() === `TABLE ${roman}`);
  if (start < 0) throw new Error(`heading TABLE ${roman} not found in ${PAPER}`);
  const rows: string[][] = [];
  for (let i = start + 1; i < paperLines.length; i++) {
    const l = paperLines[i];
    if (l.includes('\t')) rows.push(l.split('\t'));
    else if (rows.length && l.trim() === '') break;
  }
  return rows;
}

const isNum = (s: string) => /^\d+(\.\d+)?$/.test(s.trim());

/** The radii of a table: its header line made of numbers only. */
function radiiOf(rows: string[][]): number[] {
  const h = rows.find((r) => r.filter((c) => c.trim()).length > 1 && r.filter((c) => c.trim()).every(isNum));
  if (!h) throw new Error('no radius header');
  return h.filter((c) => c.trim()).map(Number);
}

/** Method name as the CSV spells it: no reference number, no markup, 'RS+OrthoNN'. */
const methodName = (s: string) =>
  s
    .replace(/<\/?i>/g, '')
    .replace(/\s*\[\d+\]/g, '')
    .replace('RS + OrthoNN', 'RS+OrthoNN')
    .trim();

describe('literature CSVs', () => {
  test('every file loads with its expected number of rows and non-empty sources', () => {
    const expected = { I: 35, II: 56, III: 36, IV: 2, V: 27, VI: 27, VII: 27, fig: 2, text: 19 } as const;
    for (const [t, n] of Object.entries(expected)) {
      const rows = loadLiterature(t as keyof typeof expected) as Array<{ source?: string; quote?: string }>;
      expect(rows).toHaveLength(n);
      for (const r of rows) expect((r.source ?? r.quote ?? '').trim()).not.toBe('');
    }
  });

  test('baseline rows cite their reference, SPLITZ rows the paper', () => {
    for (const t of ['I', 'II'] as const) {
      for (const r of loadLiterature(t)) {
        if (r.method === 'SPLITZ') {
          expect(r.ref).toBe('');
          expect(r.source).toBe(`SPLITZ paper (Zhong and Tandon) Table ${t}`);
        } else {
          expect(r.ref).toMatch(/^\[\d+\]$/);
          expect(r.source).toContain(r.ref);
          expect(r.source).toContain(`Table ${t}`);
        }
      }
    }
  });

  withPaper('Tables I and II: every cell equals the paper text', () => {
    for (const [roman, t] of [
      ['I', 'I'],
      ['II', 'II'],
    ] as const) {
      const rows = paperTable(roman);
      const radii = radiiOf(rows);
      const lit = loadLiterature(t);
      const data = rows.filter((r) => r[0].trim() && r.length >= 2 + radii.length && r.slice(2).some(isNum));
      expect(data.length * radii.length).toBe(lit.length);
      for (const r of data) {
        const method = methodName(r[0]);
        const extra = r[1].trim() === '✓';
        radii.forEach((eps, j) => {
          const cell = r[2 + j].trim();
          const m = lit.filter((l) => l.method === method && l.extra_data === extra && Math.abs(l.eps - eps) < 1e-9);
          expect(m).toHaveLength(1);
          expect(m[0].certified_accuracy).toBe(cell === '-' ? null : Number(cell));
        });
      }
    }
  });

  withPaper('Tables V, VI, VII: every cell equals the paper text', () => {
    for (const t of ['V', 'VI', 'VII'] as const) {
      const rows = paperTable(t);
      const radii = radiiOf(rows);
      const lit: AccuracyRow[] = loadLiterature(t);
      const data = rows.filter((r) => r[0].trim() && r.slice(1).filter((c) => c.trim()).length === radii.length && r.slice(1).every((c) => !c.trim() || isNum(c)));
      expect(data).toHaveLength(3);
      expect(data.length * radii.length).toBe(lit.length);
      for (const r of data) {
        const value = Number(r[0].trim().split(/\s/)[0]); // "1 st affine layer" -> 1
        radii.forEach((eps, j) => {
          const m = lit.filter((l) => l.param_value === value && Math.abs(l.eps - eps) < 1e-9);
          expect(m).toHaveLength(1);
          expect(m[0].certified_accuracy).toBe(Number(r[1 + j]));
          expect(m[0].sigma).toBe(0.75); // every caption: "WITH GAUSSIAN NOISE sigma = 0.75"
        });
      }
    }
  });

  withPaper('Table III: every ACR and star equals the paper text', () => {
    const lit = loadLiterature('III');
    let sigma = NaN;
    let cells = 0;
    for (const r of paperTable('III').filter((r) => r.length >= 4 && isNum(r[2] ?? '') && isNum(r[3] ?? ''))) {
      if (r[0].trim()) sigma = Number(r[0]);
      const method = r[1].trim().replace(/\*$/, '');
      const starred = r[1].trim().endsWith('*');
      for (const [dataset, v] of [
        ['mnist', r[2]],
        ['cifar10', r[3]],
      ] as const) {
        const m = lit.filter((l) => l.method === method && l.dataset === dataset && l.sigma === sigma);
        expect(m).toHaveLength(1);
        expect(m[0].acr).toBe(Number(v));
        expect(m[0].starred).toBe(starred);
        cells++;
      }
    }
    expect(cells).toBe(lit.length);
  });

  withPaper('Table IV: times equal the paper text', () => {
    const lit = loadLiterature('IV');
    const rows = paperTable('IV').filter((r) => /^(MNIST|CIFAR-10)$/.test(r[0].trim()));
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      const l = lit.find((x) => x.dataset === (r[0].trim() === 'MNIST' ? 'mnist' : 'cifar10'))!;
      expect([l.architecture, l.gpus, l.train_seconds_per_epoch, l.certify_seconds_per_image]).toEqual([r[1], Number(r[2]), Number(r[3]), Number(r[4])]);
    }
  });

  withPaper('prose numbers: each quote is on its line, and agrees_with_table is true exactly when the table says so', () => {
    const acc = [...loadLiterature('I'), ...loadLiterature('II'), ...loadLiterature('V')];
    const acr = loadLiterature('III');
    for (const t of loadLiterature('text')) {
      expect(paperLines[t.line - 1].replace(/\*/g, '')).toContain(t.quote);
      expect(t.quote).toContain(String(t.value % 1 === 0 ? t.value.toFixed(1) : t.value));
      let tableValue: number | null | undefined;
      if (t.table === 'III') {
        const atSigma = acr.filter((a) => a.dataset === t.dataset && a.sigma === t.sigma);
        tableValue = t.method === 'best baseline' ? Math.max(...atSigma.filter((a) => a.method !== 'SPLITZ').map((a) => a.acr)) : atSigma.find((a) => a.method === t.method)?.acr;
      } else {
        const split = /^SPLITZ split (\d)$/.exec(t.method);
        tableValue = acc.find(
          (a) => a.table === t.table && a.eps === t.eps && (split ? a.param_value === Number(split[1]) : a.method === t.method && !a.extra_data),
        )?.certified_accuracy;
      }
      expect(tableValue).not.toBeUndefined();
      expect(tableValue === t.value).toBe(t.agrees_with_table);
    }
  });

  test('the Fig. 3 caption numbers equal Table II at eps 1.0', () => {
    const t2 = loadLiterature('II');
    for (const p of loadLiterature('fig')) {
      expect(p.figure).toBe('3');
      expect(t2.find((r) => r.method === p.method && r.eps === p.eps && !r.extra_data)?.certified_accuracy).toBe(p.certified_accuracy);
    }
  });

  test('Table I SPLITZ equals the sigma = 0.75 reference row of Tables V, VI, VII at eps 1.75-2.50, not at 1.50 (as the README notes)', () => {
    const ref = (t: 'V' | 'VI' | 'VII', v: number) => loadLiterature(t).filter((r) => r.param_value === v);
    const t1 = loadLiterature('I').filter((r) => r.method === 'SPLITZ');
    for (const r of t1) {
      for (const rows of [ref('V', 1), ref('VI', 0.5), ref('VII', 1)]) {
        const v = rows.find((x) => Math.abs(x.eps - r.eps) < 1e-9)?.certified_accuracy;
        if (r.eps === 1.5) expect([r.certified_accuracy, v]).toEqual([80.2, 79.0]);
        else expect(v).toBe(r.certified_accuracy);
      }
    }
    expect(ref('VII', 0.1).find((x) => x.eps === 1.5)?.certified_accuracy).toBe(80.2);
  });

  describe('errors', () => {
    let tmp: string;
    beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-lit-'))));
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    test('a missing column, a non-number and an empty source are named with file and row', () => {
      const good = fs.readFileSync(path.join(LITERATURE_DIR, LITERATURE_FILES.IV), 'utf8');
      fs.writeFileSync(path.join(tmp, LITERATURE_FILES.IV), good.replace('train_seconds_per_epoch,', ''));
      expect(() => loadLiterature('IV', { dir: tmp })).toThrow(/lacks train_seconds_per_epoch/);
      const lines = good.split('\n');
      fs.writeFileSync(path.join(tmp, LITERATURE_FILES.IV), [lines[0], lines[1].replace(',15.1,', ',fast,'), ''].join('\n'));
      expect(() => loadLiterature('IV', { dir: tmp })).toThrow(/table_IV_time\.csv:2, column 'train_seconds_per_epoch': expected a number/);
      const fig = fs.readFileSync(path.join(LITERATURE_DIR, LITERATURE_FILES.fig), 'utf8').split('\n');
      fs.writeFileSync(path.join(tmp, LITERATURE_FILES.fig), [fig[0], fig[1].replace('SPLITZ paper Fig. 3 caption', ''), ''].join('\n'));
      expect(() => loadLiterature('fig', { dir: tmp })).toThrow(LiteratureError);
      expect(() => loadLiterature('VIII' as never)).toThrow(/unknown table 'VIII'/);
      expect(() => loadLiterature('I', { dir: path.join(tmp, 'nowhere') })).toThrow(/cannot read/);
    });
  });
});

describe('paper numbers never feed our results', () => {
  test('splitzPaperTokens holds the printed SPLITZ values', () => {
    const t = splitzPaperTokens();
    for (const v of ['80.2', '43.2', '62.3', '1.752', '0.680', '42.7', '29.3']) expect(t.has(v)).toBe(true);
    expect(t.has('67.3')).toBe(false); // RS, a baseline
  });

  test('findPaperNumbers finds whole tokens only', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-leak-'));
    try {
      fs.mkdirSync(path.join(tmp, 'a'));
      fs.writeFileSync(path.join(tmp, 'a', 'bad.csv'), 'eps,acc\n1.0,43.2\n');
      fs.writeFileSync(path.join(tmp, 'ok.tsv'), 'radius\n143.21\n0.432\n1.7520001\n');
      expect(findPaperNumbers(tmp)).toEqual([{ file: path.join(tmp, 'a', 'bad.csv'), tokens: ['43.2'] }]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  // Logs the runner writes line by line (training epochs, per-image records, stdout, settings) hold
  // thousands of rounded numbers, and some coincide with a printed SPLITZ value by chance (a held-out
  // accuracy of 0.979, say); their provenance is the published run's run.json (command, engine commit).
  // Everything else in data/results (tables, CSVs, notes) must not carry a paper number.
  const RUNNER_WRITTEN = /^(train-log\.jsonl|certify-n\d+\.tsv(\.json)?|train\.out|certify\.out|run\.json|config\.json|meta\.json|model\.json|global-lipschitz\.json)$/;

  // What `npm run lipschitz-nets` writes (the CSVs' notes carry each net's measured test accuracy; one of
  // them, 49.6%, is also a number printed in the paper), provenance in the provenance.json beside them.
  const LIPSCHITZ_WRITTEN = /^(global_layers\.csv|local_images\.csv|local_testset\.csv|provenance\.json)$/;
  const runnerWritten = (file: string) =>
    RUNNER_WRITTEN.test(path.basename(file)) || (LIPSCHITZ_WRITTEN.test(path.basename(file)) && fs.existsSync(path.join(path.dirname(file), 'provenance.json')));

  test('data/results holds no SPLITZ number of the paper outside runner-written logs', () => {
    const results = path.join(__dirname, '..', 'data', 'results');
    expect(findPaperNumbers(results).filter((h) => !runnerWritten(h.file))).toEqual([]);
  });

  test('the Lipschitz nets say how they were made (provenance.json: command, code commit, every net trained here)', () => {
    const prov = path.join(__dirname, '..', 'data', 'results', 'lipschitz', 'provenance.json');
    if (!fs.existsSync(prov)) return; // not run yet: the figures say so
    const p = JSON.parse(fs.readFileSync(prov, 'utf8'));
    expect(p.command).toMatch(/^npm run lipschitz-nets/);
    expect(p.code.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(p.nets.length).toBeGreaterThan(0);
    for (const n of p.nets) expect(n.test_accuracy).toBeGreaterThan(0.2); // each learned something (chance is 10%)
  });

  test('every published run says how it was made (run.json with its commands and engine commit)', () => {
    const results = path.join(__dirname, '..', 'data', 'results');
    const runs = fs.existsSync(results) ? fs.readdirSync(results).filter((d) => fs.existsSync(path.join(results, d, 'train-log.jsonl'))) : [];
    for (const d of runs) {
      const rj = JSON.parse(fs.readFileSync(path.join(results, d, 'run.json'), 'utf8'));
      expect(rj.code.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(rj.training.commands.length).toBeGreaterThan(0);
      expect(rj.certification.commands.length).toBeGreaterThan(0);
      for (const c of [...rj.training.commands, ...rj.certification.commands]) expect(c.command).toMatch(/splitz\.js (train|certify) configs\//);
    }
  });
});
