/**
 * Certification logs (lib/eval) and `splitz analyze`: a log in Cohen et al.'s
 * format, written here by hand, gives the certified accuracy and ACR computed
 * by hand below.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  appendRecord,
  readCertifyLog,
  parseCertifyLog,
  formatTimedelta,
  parseTime,
  CertifyRecord,
  LogFormatError,
  recordFromResult,
  completeLinesLength,
} from '../lib/eval/log';
import { certifiedAccuracy, averageCertifiedRadius, accuracyVsRadius, parseRadii, median, quantileSorted } from '../lib/eval/metrics';
import { runAnalyze, runPairedAnalyze } from '../lib/commands/analyze';
import { repairPartialLine } from '../lib/runner/certify';
import { main } from '../lib/cli';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-eval-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

// As Cohen's certify.py writes it: radius with "{:.3}", time = str(datetime.timedelta).
const COHEN_LOG = [
  'idx\tlabel\tpredict\tradius\tcorrect\ttime',
  '0\t7\t7\t0.523\t1\t0:00:01.234567',
  '1\t2\t2\t1.27\t1\t0:00:01.500000',
  '2\t1\t-1\t0.0\t0\t0:00:02.000001',
  '3\t4\t9\t0.8\t0\t0:00:01',
  '4\t0\t0\t0.25\t1\t0:01:05.100000',
  '5\t3\t3\t2.1\t1\t1 day, 0:00:00.500000',
  '',
].join('\n');
// By hand: correct images have radii 0.523, 1.27, 0.25, 2.1 out of n = 6.
const HAND_RADII = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.25];
const HAND_ACC = [4 / 6, 4 / 6, 3 / 6, 2 / 6, 2 / 6, 2 / 6, 1 / 6, 1 / 6, 0];
const HAND_ACR = (0.523 + 1.27 + 0.25 + 2.1) / 6;

function writeCohen(): string {
  const p = path.join(dir, `cohen-${Math.random().toString(36).slice(2)}.tsv`);
  fs.writeFileSync(p, COHEN_LOG);
  return p;
}

describe('median and quantiles', () => {
  test('odd and even counts, any order; interpolated quantiles; none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNull();
    expect(quantileSorted([0, 10, 20, 30, 40], 0.1)).toBeCloseTo(4, 12);
    expect(quantileSorted([0, 10], 1)).toBe(10);
    expect(() => quantileSorted([], 0.5)).toThrow(/no values/);
  });
});

describe('time column', () => {
  test('formatTimedelta writes what Python str(timedelta(seconds=s)) writes', () => {
    expect(formatTimedelta(1.234567)).toBe('0:00:01.234567');
    expect(formatTimedelta(1)).toBe('0:00:01');
    expect(formatTimedelta(0)).toBe('0:00:00');
    expect(formatTimedelta(3661.000001)).toBe('1:01:01.000001');
    expect(formatTimedelta(86400.5)).toBe('1 day, 0:00:00.500000');
    expect(formatTimedelta(3 * 86400 + 59.25)).toBe('3 days, 0:00:59.250000');
  });
  test('parseTime reads both timedelta strings and seconds', () => {
    expect(parseTime('0:00:01.234567')).toBeCloseTo(1.234567, 9);
    expect(parseTime('2 days, 1:00:00')).toBe(2 * 86400 + 3600);
    expect(parseTime('12.5')).toBe(12.5);
    expect(() => parseTime('soon')).toThrow(/H:MM:SS/);
  });
});

describe("reading Cohen's format", () => {
  test('records, times and metrics match the hand computation', () => {
    const log = readCertifyLog(writeCohen());
    expect(log.records).toHaveLength(6);
    expect(log.records.map((r) => r.predict)).toEqual([7, 2, -1, 9, 0, 3]);
    expect(log.records.map((r) => r.time)).toEqual([1.234567, 1.5, 2.000001, 1, 65.1, 86400.5]);
    const acc = certifiedAccuracy(log.records, HAND_RADII);
    acc.forEach((a, i) => expect(a).toBeCloseTo(HAND_ACC[i], 15));
    expect(averageCertifiedRadius(log.records)).toBeCloseTo(HAND_ACR, 15);
    const curve = accuracyVsRadius(log.records);
    expect(curve.radius).toEqual([0, 0.25, 0.523, 1.27, 2.1]);
    expect(curve.accuracy.map((a) => a * 6)).toEqual([4, 4, 3, 2, 1].map((k) => expect.closeTo(k, 12)));
    expect(accuracyVsRadius(log.records, [0.5, 3]).accuracy).toEqual([0.5, 0]);
  });

  test('malformed lines: clear errors naming the file and line', () => {
    const bad = (body: string) => () => parseCertifyLog(body, 'x.tsv');
    expect(bad('')).toThrow(/x\.tsv:1: empty file/);
    expect(bad('idx\tlabel\tpredict\n0\t1\t1\n')).toThrow(/x\.tsv:1: header lacks column\(s\) radius, correct, time/);
    const h = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n';
    expect(bad(h + '0\t1\t1\t0.5\t1\t0:00:01\n1\t1\t1\t0.5\t1\n')).toThrow(/x\.tsv:3: 5 tab-separated fields, the header has 6/);
    expect(bad(h + '0\t1\tone\t0.5\t1\t0:00:01\n')).toThrow(/x\.tsv:2: column 'predict' must be an integer/);
    expect(bad(h + '0\t1\t1\t0.5\t2\t0:00:01\n')).toThrow(/x\.tsv:2: column 'correct' must be 0 or 1/);
    expect(bad(h + '0\t1\t1\t-0.5\t1\t0:00:01\n')).toThrow(/x\.tsv:2: column 'radius'/);
    expect(bad(h + '0\t1\t1\t0.5\t1\tlater\n')).toThrow(/x\.tsv:2: column 'time'/);
    expect(() => readCertifyLog(path.join(dir, 'nope.tsv'))).toThrow(LogFormatError);
    expect(() => readCertifyLog(path.join(dir, 'nope.tsv'))).toThrow(/nope\.tsv: cannot read the log \(ENOENT\)/);
  });
});

describe('appendRecord', () => {
  test('creates the header, appends, round-trips SPLITZ and extra columns', () => {
    const p = path.join(dir, 'ours.tsv');
    const recs: CertifyRecord[] = [
      { idx: 0, label: 3, predict: 3, radius: 0.7123456789012345, correct: 1, time: 12.345678, pA_lower: 0.99, radius_fR: 0.58, lipschitz: 0.81, gamma: 0.7123456789012345, bound: 'sound', radius_paper: 0.9, lipschitz_paper: 0.6, gamma_paper: 0.9 },
      { idx: 1, label: 5, predict: -1, radius: 0, correct: 0, time: 3.5, pA_lower: 0.42, radius_fR: 0, lipschitz: NaN, gamma: NaN, bound: 'sound', radius_paper: 0, lipschitz_paper: NaN, gamma_paper: NaN },
      { idx: 2, label: 1, predict: 1, radius: 1e-5, correct: 1, time: 0.25, pA_lower: 0.5, radius_fR: 1e-5, lipschitz: 1, gamma: Infinity, bound: 'none', radius_paper: 1e-5, lipschitz_paper: 1, gamma_paper: Infinity },
    ];
    for (const r of recs) appendRecord(p, r);
    const text = fs.readFileSync(p, 'utf8');
    expect(text.split('\n')[0]).toBe(
      'idx\tlabel\tpredict\tradius\tcorrect\ttime\tpA_lower\tradius_fR\tlipschitz\tgamma\tbound\tradius_paper\tlipschitz_paper\tgamma_paper',
    );
    expect(text.split('\n')[1].split('\t')[5]).toBe('0:00:12.345678');
    expect(text.split('\n')[3]).toContain('\tinf\t');
    const back = readCertifyLog(p).records;
    expect(back).toHaveLength(3);
    back.forEach((b, i) => {
      for (const [k, v] of Object.entries(recs[i])) {
        if (k === 'time') expect(b.time).toBeCloseTo(v as number, 6);
        else expect(b[k]).toEqual(v);
      }
    });
    // Metrics work on our format too: correct radii 0.7123..., 1e-5 of 3 images.
    expect(averageCertifiedRadius(back)).toBeCloseTo((0.7123456789012345 + 1e-5) / 3, 15);
  });

  test('recordFromResult: correct only when predict = label; abstain is never correct', () => {
    const r = { predict: 4, radius: 0.5, time: 2, pA_lower: 0.9, radius_fR: 0.3, lipschitz: 0.6, gamma: 0.5 };
    expect(recordFromResult(7, 4, r, 'sound').correct).toBe(1);
    expect(recordFromResult(7, 5, r, 'sound').correct).toBe(0);
    expect(recordFromResult(7, -1, { ...r, predict: -1 }, 'sound').correct).toBe(0);
    const rec = recordFromResult(7, 4, r, 'sound', { radius_paper: 0.7 });
    expect(Object.keys(rec)).toEqual(['idx', 'label', 'predict', 'radius', 'correct', 'time', 'pA_lower', 'radius_fR', 'lipschitz', 'gamma', 'bound', 'radius_paper']);
  });

  test('resuming checks the header', () => {
    const p = path.join(dir, 'resume.tsv');
    appendRecord(p, { idx: 0, label: 1, predict: 1, radius: 0.5, correct: 1, time: 1 });
    appendRecord(p, { idx: 1, label: 2, predict: 2, radius: 0.25, correct: 1, time: 1 });
    expect(() => appendRecord(p, { idx: 2, label: 2, predict: 2, radius: 0.25, correct: 1, time: 1, pA_lower: 0.9 })).toThrow(
      /cannot append, its header .* differs/,
    );
    expect(readCertifyLog(p).records).toHaveLength(2);
    expect(() => appendRecord(path.join(dir, 'x.tsv'), { idx: 2, label: 2, predict: 2, radius: 0.25, correct: 1, time: 1, bound: 'a\tb' })).toThrow(/tab/);
  });
});

describe('a log cut short by a kill', () => {
  const write = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const header = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n';
  const rec = (i: number) => `${i}\t3\t3\t0.5\t1\t0:00:01.500000\n`;

  test('completeLinesLength ends at the last newline', () => {
    expect(completeLinesLength('')).toBe(0);
    expect(completeLinesLength('abc')).toBe(0);
    expect(completeLinesLength('a\nbc')).toBe(2);
    expect(completeLinesLength(Buffer.from('a\nbc\n'))).toBe(5);
  });

  test("partialLastLine 'drop' ignores the cut record; the default reports it with its line number", () => {
    const p = write('cut.tsv', header + rec(0) + rec(1) + '2\t3\t3\t0.5');
    expect(() => readCertifyLog(p)).toThrow(/cut\.tsv:4: 4 tab-separated fields, the header has 6/);
    expect(readCertifyLog(p, { partialLastLine: 'drop' }).records.map((r) => r.idx)).toEqual([0, 1]);
    // A whole last line that only lacks its newline is dropped too: it may still be being written.
    const q = write('nonl.tsv', header + rec(0) + rec(1).trimEnd());
    expect(readCertifyLog(q, { partialLastLine: 'drop' }).records.map((r) => r.idx)).toEqual([0]);
    expect(readCertifyLog(q).records.map((r) => r.idx)).toEqual([0, 1]);
    // Complete files read the same either way; a header without records has none.
    const c = write('whole.tsv', header + rec(0));
    expect(readCertifyLog(c, { partialLastLine: 'drop' })).toEqual(readCertifyLog(c));
    expect(readCertifyLog(write('head.tsv', header), { partialLastLine: 'drop' }).records).toEqual([]);
  });

  test('repairPartialLine truncates the file to what a tolerant read sees', () => {
    const p = write('repair.tsv', header + rec(0) + '1\t3\t3');
    const seen = readCertifyLog(p, { partialLastLine: 'drop' }).records;
    expect(repairPartialLine(p)).toBe(true);
    expect(fs.readFileSync(p, 'utf8')).toBe(header + rec(0));
    expect(readCertifyLog(p).records).toEqual(seen);
    expect(repairPartialLine(p)).toBe(false);
  });
});

describe('splitz analyze', () => {
  test('table and JSON show the hand-computed certified accuracy and ACR', () => {
    const p = writeCohen();
    const out: string[] = [];
    runAnalyze([p], { radii: '0,0.25,0.5,0.75,1,1.25,1.5,2,2.25' }, (t) => out.push(t));
    const lines = out.join('\n').split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['log', 'n', 'abstain', 'r=0', 'r=0.25', 'r=0.5', 'r=0.75', 'r=1', 'r=1.25', 'r=1.5', 'r=2', 'r=2.25', 'ACR']);
    expect(lines[1].split(/\s+/)).toEqual([p, '6', '1', '66.7', '66.7', '50.0', '33.3', '33.3', '33.3', '16.7', '16.7', '0.0', HAND_ACR.toFixed(4)]);
    expect(HAND_ACR.toFixed(4)).toBe('0.6905');

    const json: string[] = [];
    runAnalyze([p, p], { radii: '0:2.25:0.25', json: true }, (t) => json.push(t));
    const parsed = JSON.parse(json.join('\n'));
    expect(parsed.logs).toHaveLength(2);
    const s = parsed.logs[0];
    expect(s.n).toBe(6);
    expect(s.radii).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25]);
    expect(s.certifiedAccuracy).toEqual([4, 4, 3, 2, 2, 2, 1, 1, 1, 0].map((k) => expect.closeTo(k / 6, 12)));
    expect(s.acr).toBeCloseTo(HAND_ACR, 15);
  });

  test('through the CLI entry point, and clean errors', async () => {
    const p = writeCohen();
    const logs: string[] = [];
    const errs: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((t: string) => void logs.push(t));
    const err = jest.spyOn(console, 'error').mockImplementation((t: string) => void errs.push(t));
    try {
      await main(['analyze', p, '--radii', '0.5', '--json']);
      expect(JSON.parse(logs.join('\n')).logs[0].certifiedAccuracy).toEqual([0.5]);
      await main(['analyze', path.join(dir, 'missing.tsv')]);
      expect(process.exitCode).toBe(2);
      expect(errs.join('\n')).toMatch(/missing\.tsv: cannot read the log/);
      process.exitCode = 0;
      await main(['analyze', p, '--radii', '0,x']);
      expect(process.exitCode).toBe(2);
      expect(errs.join('\n')).toMatch(/--radii: .*'x' is not a radius/);
    } finally {
      process.exitCode = 0;
      log.mockRestore();
      err.mockRestore();
    }
  });

  test('--paired: hand-counted discordant images, McNemar p and ACR interval, on the images both logs hold', () => {
    // idx: A (correct, radius) | B (correct, radius). idx 99 is in A only and must not count.
    const rows = (list: Array<[number, 0 | 1, number]>) => 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n' + list.map(([i, c, r]) => `${i}\t3\t${c ? 3 : r > 0 ? 5 : -1}\t${r}\t${c}\t0:00:01\n`).join('');
    const a = path.join(dir, 'paired-a.tsv');
    const b = path.join(dir, 'paired-b.tsv');
    fs.writeFileSync(a, rows([[0, 1, 1.0], [1, 1, 0.8], [2, 1, 0.6], [3, 1, 0.3], [4, 0, 0], [5, 1, 0.9], [6, 1, 0.2], [7, 0, 0.7], [99, 1, 5.0]]));
    fs.writeFileSync(b, rows([[0, 1, 0.4], [1, 1, 0.1], [2, 0, 0], [3, 1, 0.5], [4, 1, 0.6], [5, 0, 0.8], [6, 1, 0.25], [7, 1, 0.1]]));
    const out: string[] = [];
    const r = runPairedAnalyze([a, b], { radii: '0,0.5' }, (t) => out.push(t));
    expect([r.a.images, r.b.images, r.acr.images]).toEqual([9, 8, 8]);
    // eps 0: A certifies 0,1,2,3,5,6; B 0,1,3,4,6,7: only A {2,5}, only B {4,7}.
    expect(r.accuracy[0]).toMatchObject({ certifiedA: 6, certifiedB: 6, onlyA: 2, onlyB: 2, p: 1 });
    // eps 0.5: A {0,1,2,5}, B {3,4}: p = 2 P(X <= 2), X ~ Bin(6, 1/2) = 2 (1 + 6 + 15) / 64.
    expect(r.accuracy[1]).toMatchObject({ certifiedA: 4, certifiedB: 2, onlyA: 4, onlyB: 2 });
    expect(r.accuracy[1].p).toBeCloseTo(44 / 64, 12);
    // ACR on the 8 common images: 3.8 / 8 and 1.95 / 8; differences 0.6 0.7 0.6 -0.2 -0.6 0.9 -0.05 -0.1,
    // sample sd 0.53514851, interval mean -/+ 1.959964 sd / sqrt(8).
    expect(r.acr.acrA).toBeCloseTo(0.475, 12);
    expect(r.acr.acrB).toBeCloseTo(0.24375, 12);
    expect(r.acr.difference).toBeCloseTo(0.23125, 12);
    expect(r.acr.ci[0]).toBeCloseTo(-0.1395822, 6);
    expect(r.acr.ci[1]).toBeCloseTo(0.6020822, 6);
    // Agreement on the 8 common images (predict: correct -> 3, wrong with radius > 0 -> 5, else abstain -1):
    // A 3 3 3 3 -1 3 3 5, B 3 3 -1 3 3 5 3 3: same answer on 0,1,3,6; both classify 0,1,3,5,6,7, same class on 0,1,3,6.
    expect(r.agreement).toEqual({ images: 8, sameAnswer: 4, abstainA: 1, abstainB: 1, bothClassify: 6, sameClass: 4 });
    const text = out.join('\n');
    expect(text).toMatch(/compared on the 8 images in both logs, radius column 'radius'/);
    expect(text).toMatch(/same answer \(class or abstention\) on 4 of 8; both classify 6, same class on 4 of them; abstain A 1, B 1/);
    expect(text.split('\n').find((l) => l.trim().startsWith('0.5'))!.trim().split(/\s+/)).toEqual(['0.5', '50.0', '25.0', '4', '2', '0.688']);

    // Errors say what is wrong.
    expect(() => runPairedAnalyze([a], {})).toThrow(/exactly two certification logs.*got 1/);
    expect(() => runPairedAnalyze([a, b], { column: 'radius_paper' })).toThrow(/no column 'radius_paper'; its columns are idx, label/);
    const other = path.join(dir, 'paired-other.tsv');
    fs.writeFileSync(other, rows([[1000, 1, 1]]));
    expect(() => runPairedAnalyze([a, other], {})).toThrow(/share no test image/);
    expect(() => runAnalyze([a], { column: 'radius' })).toThrow(/--column goes with --paired/);
  });

  test('--paired agreement: a shared abstention is the same answer; a different wrong class is not', () => {
    const rows = (list: Array<[number, number, number]>) => 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n' + list.map(([i, y, p]) => `${i}\t${y}\t${p}\t0.1\t${p === y ? 1 : 0}\t0:00:01\n`).join('');
    const a = path.join(dir, 'agree-a.tsv');
    const b = path.join(dir, 'agree-b.tsv');
    // idx 0: both abstain; 1: both the same wrong class; 2: different wrong classes; 3: A abstains; 4: both right; 7: in B only.
    fs.writeFileSync(a, rows([[0, 1, -1], [1, 1, 2], [2, 1, 3], [3, 1, -1], [4, 5, 5]]));
    fs.writeFileSync(b, rows([[0, 1, -1], [1, 1, 2], [2, 1, 4], [3, 1, 1], [4, 5, 5], [7, 0, 0]]));
    const r = runPairedAnalyze([a, b], { radii: '0', json: true }, () => undefined);
    expect(r.agreement).toEqual({ images: 5, sameAnswer: 3, abstainA: 2, abstainB: 1, bothClassify: 3, sameClass: 2 });
  });

  test('median L(x) under each bound, over the images with a class; none for RS and Cohen logs', () => {
    const header = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\tpA_lower\tradius_fR\tlipschitz\tgamma\tbound\tradius_paper\tlipschitz_paper\tgamma_paper\n';
    const line = (i: number, p: number, L: string, Lp: string, bound = 'sound') => `${i}\t3\t${p}\t0.5\t${p === 3 ? 1 : 0}\t0:00:01\t0.9\t0.5\t${L}\t1\t${bound}\t0.6\t${Lp}\t1\n`;
    const splitz = path.join(dir, 'median-splitz.tsv');
    // The abstention (idx 3) logs nan and a huge L that must not count; medians of {0.5, 0.7, 0.6, 0.9} and {0.4, 0.6, 0.5, 0.8}.
    fs.writeFileSync(splitz, header + line(0, 3, '0.5', '0.4') + line(1, 3, '0.7', '0.6') + line(2, 4, '0.6', '0.5') + line(3, -1, '99', 'nan') + line(4, 3, '0.9', '0.8'));
    const rs = path.join(dir, 'median-rs.tsv');
    fs.writeFileSync(rs, header + line(0, 3, '1', '1', 'none') + line(1, 3, '1', '1', 'none'));
    const cohen = writeCohen();
    const out: string[] = [];
    const [s, r, c] = runAnalyze([splitz, rs, cohen], { radii: '0' }, (t) => out.push(t));
    expect([s.medianLipschitz, s.medianLipschitzPaper]).toEqual([expect.closeTo(0.65, 12), expect.closeTo(0.55, 12)]);
    expect([r.medianLipschitz, r.medianLipschitzPaper, c.medianLipschitz, c.medianLipschitzPaper]).toEqual([null, null, null, null]);
    const lines = out.join('\n').split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['log', 'n', 'abstain', 'r=0', 'ACR', 'median_L', 'median_L_paper']);
    expect(lines[1].split(/\s+/).slice(-2)).toEqual(['0.650', '0.550']);
    expect(lines[2].split(/\s+/).slice(-2)).toEqual(['-', '-']);
    // Without a SPLITZ log the table keeps its plain columns.
    const plain: string[] = [];
    runAnalyze([cohen], { radii: '0' }, (t) => plain.push(t));
    expect(plain[0].split('\n')[0].split(/\s+/)).toEqual(['log', 'n', 'abstain', 'r=0', 'ACR']);
  });

  test('parseRadii', () => {
    expect(parseRadii('0, 0.5,1')).toEqual([0, 0.5, 1]);
    expect(parseRadii('0:1:0.25')).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(() => parseRadii('1:0:0.25')).toThrow(/start:stop:step/);
  });
});
