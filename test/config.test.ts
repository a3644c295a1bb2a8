/**
 * Experiment configs: every file in configs/ resolves at every scale it
 * declares and carries the paper's settings (METHOD.md "Training", Appendix
 * C); misspelt keys, wrong types and inconsistent settings are clear errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, ExperimentConfig, archSpec, declaredScales, loadConfig, resolveConfig, selectImages } from '../lib/config';
import { closestName, editDistance } from '../lib/config/suggest';

const CONFIGS = path.join(__dirname, '..', 'configs');
const files = fs.readdirSync(CONFIGS).filter((f) => f.endsWith('.json')).sort();
const read = (f: string) => JSON.parse(fs.readFileSync(path.join(CONFIGS, f), 'utf8'));

describe('configs/', () => {
  test('holds one file per result of issue 4 (20 files)', () => {
    const expected = [
      ...[0.25, 0.5, 0.75, 1].flatMap((s) => [`mnist-splitz-sigma${s.toFixed(2)}`, `mnist-rs-sigma${s.toFixed(2)}`]),
      'mnist-splitz-sigma0.75-split2', 'mnist-splitz-sigma0.75-split3',
      'mnist-splitz-sigma0.75-thetalip0.3', 'mnist-splitz-sigma0.75-thetalip0.7',
      'mnist-splitz-sigma0.75-gamma0.1', 'mnist-splitz-sigma0.75-gamma2',
      ...[0.25, 0.5, 1].flatMap((s) => [`cifar10-splitz-sigma${s.toFixed(2)}`, `cifar10-rs-sigma${s.toFixed(2)}`]),
    ];
    expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual(expected.sort());
  });

  test.each(files.map((f) => [f]))('%s loads at every scale it declares', (f) => {
    const scales = declaredScales(path.join(CONFIGS, f));
    expect(scales).toEqual(expect.arrayContaining(['paper', 'reduced']));
    for (const scale of scales) {
      const c = loadConfig(path.join(CONFIGS, f), { scale });
      expect(c.scale.name).toBe(scale);
      expect(c.scale.note.length).toBeGreaterThan(10);
      expect(c.name).toBe(f.replace(/\.json$/, ''));
      expect(c.paper_ref).toMatch(/Table|Fig\./);
      expect(c.source.scales).toEqual(scales);
    }
  });

  test('the paper scale has the published settings', () => {
    for (const f of files) {
      const c = loadConfig(path.join(CONFIGS, f));
      expect(c.scale.name).toBe('paper'); // the default
      const t = c.train;
      // Certification (Appendix C): n0 = 100, n = 100,000, alpha = 0.001, full test set
      expect([c.certify.n0, c.certify.n, c.certify.alpha, c.certify.images]).toEqual([100, 100000, 0.001, 'all']);
      expect([t.optimizer, t.lr, c.theta]).toEqual(['adam', 0.001, 1]);
      const rs = f.includes('-rs-');
      expect(c.split).toBe(rs ? 0 : f.includes('split2') ? 2 : f.includes('split3') ? 3 : 1);
      if (c.dataset === 'mnist') {
        expect([c.arch, t.batch_size, t.epochs, t.power_iterations, t.augment]).toEqual(['lenet', 512, 150, 5, false]);
        expect(t.lr_schedule).toEqual({ kind: 'step', milestones: [50, 100], gamma: 0.1 });
        expect(t.lambda).toEqual(rs ? { start: 0, end: 0 } : { start: 0.8, end: 0.4 });
      } else {
        expect([c.arch, t.batch_size, t.epochs, t.power_iterations, t.augment]).toEqual(['resnet110', 256, 200, 2, true]);
        expect(t.lr_schedule).toEqual({ kind: 'linear_decay', from_fraction: 0.5, final_lr: 1e-6 });
        expect(t.lambda).toEqual(rs ? { start: 0, end: 0 } : { start: 0.7, end: 0.5 });
      }
    }
  });

  test('ablations change exactly one setting of the sigma = 0.75 headline config', () => {
    const base = loadConfig(path.join(CONFIGS, 'mnist-splitz-sigma0.75.json'));
    const strip = (c: ExperimentConfig) => ({ ...c, name: '', description: '', paper_ref: '', notes: [], source: null, scale: null });
    const diff = (f: string) => {
      const c = strip(loadConfig(path.join(CONFIGS, f)));
      const b = strip(base);
      const keys: string[] = [];
      for (const k of Object.keys(b) as (keyof typeof b)[]) if (JSON.stringify(b[k]) !== JSON.stringify(c[k])) keys.push(k);
      for (const k of Object.keys(b.train) as (keyof typeof b.train)[]) if (JSON.stringify(b.train[k]) !== JSON.stringify(c.train[k])) keys.push(`train.${k}`);
      return keys.filter((k) => k !== 'train');
    };
    expect(diff('mnist-splitz-sigma0.75-split2.json')).toEqual(['split']);
    expect(diff('mnist-splitz-sigma0.75-thetalip0.3.json')).toEqual(['train.theta_lip']);
    expect(diff('mnist-splitz-sigma0.75-gamma0.1.json')).toEqual(['train.gamma_train']);
    expect(loadConfig(path.join(CONFIGS, 'mnist-splitz-sigma0.75-gamma2.json')).train.gamma_train).toBe(2);
  });

  test('the reduced scale shortens training and certification, and says how schedules map', () => {
    const m = loadConfig(path.join(CONFIGS, 'mnist-splitz-sigma0.50.json'), { scale: 'reduced' });
    expect(m.train.epochs).toBeLessThanOrEqual(15);
    expect(m.train.schedule_epochs).toBe(150); // the paper's schedule, compressed into the short run
    expect(m.train.schedule_mode).toBe('compress');
    expect(m.certify.images).toEqual({ every: 20 });
    expect(selectImages(m.certify.images, 10000)).toHaveLength(500);
    expect(m.certify.n).toBe(10000);
    // merging keeps what the scale does not touch
    expect(m.train.lr_schedule).toEqual({ kind: 'step', milestones: [50, 100], gamma: 0.1 });
    expect(m.certify.n0).toBe(100);
    // the sigma 0.75 pair: n = 10,000 when reduced, the paper's training and n = 100,000 at the 'headline' scale
    for (const name of ['mnist-splitz-sigma0.75', 'mnist-rs-sigma0.75']) {
      expect(loadConfig(path.join(CONFIGS, `${name}.json`), { scale: 'reduced' }).certify.n).toBe(10000);
      const h = loadConfig(path.join(CONFIGS, `${name}.json`), { scale: 'headline' });
      expect([h.certify.n, h.certify.images, h.train.epochs, h.train.extra_epochs]).toEqual([100000, { every: 20 }, 150, 150]);
    }
    const c = loadConfig(path.join(CONFIGS, 'cifar10-splitz-sigma0.25.json'), { scale: 'reduced' });
    expect(c.arch).toBe('resnet20');
    expect(archSpec(c)).toEqual({ arch: 'resnet20', options: { splitAfter: 1, theta: 1, seed: 0 } });
    expect(c.train.epochs).toBeLessThan(10);
  });
});

/** A valid config to break in the tests below. */
function sample(): Record<string, any> {
  return read('mnist-splitz-sigma0.25.json');
}

function errorOf(raw: unknown, scale?: string): string {
  try {
    resolveConfig(raw, 'test.json', { scale });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('errors', () => {
  test("an unknown key names it, the file and the allowed keys, and suggests the closest ('sigmma' -> 'sigma')", () => {
    const raw = sample();
    raw.sigmma = raw.sigma;
    delete raw.sigma;
    const msg = errorOf(raw);
    expect(msg).toMatch(/^test\.json: invalid config/);
    expect(msg).toMatch(/unknown key 'sigmma' in the top level \(did you mean 'sigma'\?\); allowed keys: name, description, .*sigma/);
    expect(msg).toMatch(/'sigma' is missing/);
  });

  test('unknown keys are found in nested objects and in scale overrides too', () => {
    const raw = sample();
    raw.train.batchsize = 256;
    raw.scales.reduced.certify.alhpa = 0.01;
    const msg = errorOf(raw);
    expect(msg).toMatch(/unknown key 'batchsize' in 'train' \(did you mean 'batch_size'\?\)/);
    expect(msg).toMatch(/unknown key 'alhpa' in 'scales\.reduced\.certify' \(did you mean 'alpha'\?\)/);
  });

  test('wrong types and ranges say what is expected', () => {
    const raw = sample();
    raw.sigma = '0.25';
    raw.train.epochs = 12.5;
    raw.certify.alpha = 0.7;
    raw.train.optimizer = 'adamw';
    raw.train.augment = 'yes';
    const msg = errorOf(raw);
    expect(msg).toMatch(/'sigma' must be a number > 0, got the string "0\.25"/);
    expect(msg).toMatch(/'train\.epochs' must be an integer >= 1, got 12\.5/);
    expect(msg).toMatch(/'certify\.alpha' must be a number > 0 and < 0\.5, got 0\.7/);
    expect(msg).toMatch(/'train\.optimizer' is 'adamw' \(did you mean 'adam'\?\); allowed: 'adam', 'sgd'/);
    expect(msg).toMatch(/'train\.augment' must be true or false/);
  });

  test('tagged unions and image selections are checked by their kind', () => {
    const raw = sample();
    raw.train.lr_schedule = { kind: 'linear', from_fraction: 0.5, final_lr: 1e-6 };
    raw.certify.images = { every: 0 };
    const msg = errorOf(raw);
    expect(msg).toMatch(/'train\.lr_schedule\.kind' is the string "linear".*allowed: 'step', 'linear_decay', 'constant'/);
    expect(msg).toMatch(/'certify\.images\.every' must be an integer >= 1, got 0/);
    const raw2 = sample();
    raw2.certify.images = 'everything';
    expect(errorOf(raw2)).toMatch(/'certify\.images' must be 'all', \{"every": k/);
  });

  test('cross-field checks: RS with a Lipschitz weight, a split too deep, an arch for another dataset', () => {
    const rs = sample();
    rs.split = 0;
    expect(errorOf(rs)).toMatch(/'split' is 0 .* 'train\.lambda' must be \{"start": 0, "end": 0\}/);
    const deep = sample();
    deep.split = 5;
    expect(errorOf(deep)).toMatch(/'split' 5 is too deep for lenet: at most 4/);
    const arch = sample();
    arch.arch = 'resnet20';
    expect(errorOf(arch)).toMatch(/'arch' resnet20 is built for cifar10 inputs .* but 'dataset' is mnist/);
    const ms = sample();
    ms.train.lr_schedule.milestones = [100, 50];
    expect(errorOf(ms)).toMatch(/milestones' must increase strictly/);
    const sgd = sample();
    sgd.train.optimizer = 'sgd';
    expect(errorOf(sgd)).toMatch(/'train\.momentum' is missing: SGD needs it/);
  });

  test('an unknown scale lists the declared ones; a bad override is reported with its scale', () => {
    expect(errorOf(sample(), 'reduce')).toMatch(/no scale 'reduce' \(did you mean 'reduced'\?\); this file declares: paper, reduced, smoke/);
    const raw = sample();
    raw.scales.reduced.train.epochs = 500;
    expect(errorOf(raw, 'reduced')).toMatch(/'train\.epochs' \(500\) exceeds 'train\.schedule_epochs' \(150\).*at scale 'reduced'/);
    const noNote = sample();
    delete noNote.scales.reduced.note;
    expect(errorOf(noNote)).toMatch(/'scales\.reduced\.note' is missing/);
  });

  test('unreadable files name the path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-cfg-'));
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"name": "x",');
    expect(() => loadConfig(bad)).toThrow(/bad\.json: not valid JSON/);
    expect(() => loadConfig(path.join(dir, 'missing.json'))).toThrow(/missing\.json: config file not found/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('helpers', () => {
  test('edit distance and closest names', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(closestName('sigmma', ['sigma', 'split', 'theta'])).toBe('sigma');
    expect(closestName('zzzzzz', ['sigma', 'split'])).toBeUndefined();
  });

  test('image selections', () => {
    expect(selectImages({ every: 20 }, 10000).slice(0, 3)).toEqual([0, 20, 40]);
    expect(selectImages({ every: 3, offset: 1 }, 10)).toEqual([1, 4, 7]);
    expect(selectImages({ first: 4 }, 10)).toEqual([0, 1, 2, 3]);
    expect(selectImages('all', 3)).toEqual([0, 1, 2]);
    expect(() => selectImages({ list: [3, 12] }, 10)).toThrow(/outside the test set of 10 images: 12/);
  });
});
