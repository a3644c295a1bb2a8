/**
 * `npm run lipschitz-nets -- [--width 0.25] [--epochs 2] [--nets a,b] [--out DIR]`:
 * the nets of Fig. 1, 5 and 6, trained on CIFAR-10 here, and the three CSVs
 * of the Lipschitz figures computed from them.
 *
 * The paper measures ImageNet-pretrained VGG-16, ResNet-18, SqueezeNet (Fig. 1),
 * 4C3F, AlexNet, ResNet-34 (Fig. 5) and AlexNet (Fig. 6); pretrained weights
 * cannot be downloaded here, so this trains the same layer structures
 * (lib/models, 32x32 inputs) on CIFAR-10 with plain cross-entropy:
 *   1. for each net: build it (seed 0; VGG-16 and 4C3F with splitAfter 4, so
 *      their first four layers are ReLU_theta and the same trained model serves
 *      the local-bound figures), train it with Adam at its own learning rate (LIPSCHITZ_NETS: 1e-4 for VGG-16, which stays at chance at 1e-3; 1e-3 for the rest; --lr sets one for all) (trainBasic, optional
 *      crop + flip), printing the loss and test accuracy after each epoch, and
 *      checkpoint it atomically in runs/lipschitz-nets/<arch>-w<width>-e<epochs>/.
 *      A net whose checkpoint exists (with the same training settings) is not
 *      trained again: a restarted run resumes at the first unfinished net.
 *   2. from the checkpoints: per-layer spectral norms (global_layers.csv) and
 *      the local bounds L(x, 0.1) of the first 1..4 layers of VGG-16 and 4C3F
 *      (local_images.csv, local_testset.csv), with lib/report/lipschitz-nets.ts,
 *      the functions notebook 05 uses on untrained nets; written atomically to
 *      data/results/lipschitz/ (or --out) with a `note` column that says what
 *      was run, and provenance.json beside them (command, dates, backend,
 *      machine, per-net wall times and accuracies).
 *
 * Long at the defaults (all six nets, 2 epochs on 50,000 images on a CPU): start it with
 * `nohup npm run lipschitz-nets > runs/lipschitz-nets.out 2>&1 &`. A smoke run:
 * `npm run lipschitz-nets -- --epochs 0.02 --subset 2000 --test-subset 500 --runs /tmp/ln --out /tmp/ln/out`
 * (subsets are evenly spaced over the set: the JPEG re-encoding is stored class
 * by class, so its first n images would all be airplanes).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { initBackend, tf } from '../lib/backend';
import { ImageDataset } from '../lib/data/types';
import { loadCifar10 } from '../lib/data/cifar10-load';
import { everyKth, subset } from '../lib/data/batches';
import { accuracy, trainBasic } from '../lib/train/basic';
import { checkpointExists, loadCheckpoint, saveCheckpoint } from '../lib/io/checkpoint';
import { writeFileAtomic } from '../lib/io/atomic';
import { toCsv } from '../lib/report/render';
import { machineInfo } from '../lib/report/quick';
import { gitCommit } from './git';
import { MAX_CHECKPOINT_BYTES, dirBytes, publishDir } from './publish';
import {
  LIPSCHITZ_FILES,
  LIPSCHITZ_NETS,
  LOCAL_DEPTH,
  LipschitzArch,
  LipschitzNet,
  LipschitzTables,
  buildLipschitzNet,
  describeGlobalRows,
  lipschitzBuildOptions,
  lipschitzNet,
  netTables,
} from '../lib/report/lipschitz-nets';

const ROOT = path.resolve(__dirname, '..');

/** A bad option: reported as one line, without a stack. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface LipschitzNetsOptions {
  /** The full training set (`subset` picks from it). */
  train: ImageDataset;
  /** The full test set: the local bounds are computed at its images; `testSubset` picks the accuracy images from it. */
  test: ImageDataset;
  /** Width multiplier of every net (1 = the published width). */
  width: number;
  /** Epochs over `train`; fractions allowed (a shortened last epoch). */
  epochs: number;
  batchSize: number;
  /** Adam learning rate of every net; default: each net's own (LIPSCHITZ_NETS). */
  learningRate?: number;
  /** Crop (pad 4) + horizontal flip of each batch, as the paper trains on CIFAR-10. */
  augment: boolean;
  /** Which nets, in LIPSCHITZ_NETS order (default all six). */
  nets?: LipschitzArch[];
  /** Checkpoints go to <runsDir>/<arch>-w<width>-e<epochs>[-sub<n>]/. */
  runsDir: string;
  /** Where the three CSVs and provenance.json go. */
  outDir: string;
  /** Train on this many training images, evenly spaced over the set (default all). */
  subset?: number;
  /** Measure test accuracy on this many test images, evenly spaced (default all). */
  testSubset?: number;
  /** The command line, for provenance.json. */
  command?: string;
  /** Progress line every this many steps within an epoch (default 50; 0 = epoch lines only). */
  logEvery?: number;
  log?: (line: string) => void;
  /** Power-iteration steps (global norms, default 50; local bounds, default 20) and test-set images of Fig. 1c/6b (default 200): smaller in tests. */
  globalIterations?: number;
  localIterations?: number;
  testsetImages?: number;
}

/** What the run did with one net. */
export interface NetRecord {
  arch: LipschitzArch;
  label: string;
  checkpoint: string;
  /** 'now': trained in this call; 'resumed': its checkpoint was already there. */
  trained: 'now' | 'resumed';
  steps: number;
  epochs: number;
  /** Adam learning rate it was trained with. */
  lr: number;
  test_accuracy: number;
  /** The commit the net was trained with (null for checkpoints from before this was recorded). */
  trained_with_code: string | null;
  test_images: number;
  final_loss: number | null;
  train_seconds: number;
  lipschitz_seconds: number;
}

export interface LipschitzNetsResult {
  nets: NetRecord[];
  tables: LipschitzTables;
  files: string[];
}

/** The learning rate net is trained with: --lr when given, else the net's own. */
export function lrOf(o: Pick<LipschitzNetsOptions, 'learningRate'>, net: Pick<LipschitzNet, 'learningRate'>): number {
  return o.learningRate ?? net.learningRate;
}

/** Below this test accuracy (chance is 10%) a net is reported as not having learned. */
const LEARNED_ACCURACY = 0.2;

/** The settings that make two trainings of a net the same; stored in the checkpoint and compared on resume. */
function trainingIdentity(o: LipschitzNetsOptions, data: RunData, net: LipschitzNet, steps: number): Record<string, unknown> {
  return {
    arch: net.arch,
    arch_options: lipschitzBuildOptions(net, { width: o.width }),
    dataset: o.train.name,
    train_images: data.train.n,
    epochs: o.epochs,
    steps,
    batch_size: o.batchSize,
    lr: lrOf(o, net),
    optimizer: 'adam',
    loss: 'softmax cross-entropy',
    augment: o.augment ? 'crop (pad 4) + flip' : 'none',
    seed: 0,
  };
}

/** The images a run trains on and measures accuracy on. */
interface RunData {
  train: ImageDataset;
  accuracy: ImageDataset;
}

/** n images evenly spaced over `ds` (every floor(N/n)-th), so every class appears even when the set is stored class by class. */
export function evenSubset(ds: ImageDataset, n: number | undefined, flag: string): ImageDataset {
  if (n === undefined || n === ds.n) return ds;
  if (!Number.isInteger(n) || n < 1 || n > ds.n) throw new UsageError(`${flag} must be an integer in 1..${ds.n} (the images of ${ds.name}), got ${n}`);
  return subset(ds, everyKth(ds.n, Math.floor(ds.n / n)).subarray(0, n));
}

/** Steps per epoch as trainBasic counts them (it reshuffles once fewer than a batch remain). */
export function stepsFor(n: number, batchSize: number, epochs: number): { perEpoch: number; total: number } {
  const perEpoch = Math.floor(n / batchSize);
  return { perEpoch, total: Math.max(1, Math.round(epochs * perEpoch)) };
}

export function checkpointDir(o: Pick<LipschitzNetsOptions, 'runsDir' | 'width' | 'epochs' | 'subset'>, arch: string): string {
  return path.join(o.runsDir, `${arch}-w${o.width}-e${o.epochs}${o.subset !== undefined ? `-sub${o.subset}` : ''}`);
}

const pct = (a: number) => `${(100 * a).toFixed(1)}%`;
const fmtSeconds = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`);

function checkOptions(o: LipschitzNetsOptions): void {
  if (!(o.width > 0) || !Number.isFinite(o.width)) throw new UsageError(`--width must be a positive number (1 = the published width), got ${o.width}`);
  if (!(o.epochs > 0) || !Number.isFinite(o.epochs)) throw new UsageError(`--epochs must be a positive number (fractions allowed), got ${o.epochs}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new UsageError(`--batch-size must be a positive integer, got ${o.batchSize}`);
  if (o.learningRate !== undefined && (!(o.learningRate > 0) || !Number.isFinite(o.learningRate))) throw new UsageError(`--lr must be a positive number, got ${o.learningRate}`);
  for (const a of o.nets ?? []) lipschitzNet(a);
}

/** The code a run is made with: read once when it starts (provenance.json, and each trained checkpoint's meta.json). */
interface CodeVersion {
  commit: string;
  uncommitted_changes_in_lib_or_scripts: boolean;
}

function codeVersion(): CodeVersion {
  const { commit, dirty } = gitCommit(ROOT, ['lib', 'scripts']);
  return { commit, uncommitted_changes_in_lib_or_scripts: dirty };
}

/** Train one net (or find its checkpoint); returns its record without the Lipschitz time. */
async function trainOrResume(o: LipschitzNetsOptions, data: RunData, net: LipschitzNet, code: CodeVersion, log: (l: string) => void): Promise<Omit<NetRecord, 'lipschitz_seconds'>> {
  const dir = checkpointDir(o, net.arch);
  const { perEpoch, total } = stepsFor(data.train.n, o.batchSize, o.epochs);
  const identity = trainingIdentity(o, data, net, total);
  const rel = path.relative(ROOT, dir).startsWith('..') ? dir : path.relative(ROOT, dir);
  if (checkpointExists(dir)) {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { config?: unknown; metrics?: Record<string, unknown> };
    if (JSON.stringify(meta.config) !== JSON.stringify(identity)) {
      throw new UsageError(`${rel} holds ${net.arch} trained with ${JSON.stringify(meta.config)}, not ${JSON.stringify(identity)}: remove it, or give another --runs folder`);
    }
    const m = meta.metrics ?? {};
    log(`[${net.arch}] trained before: ${rel} (test accuracy ${pct(Number(m.test_accuracy))}); not trained again`);
    return {
      arch: net.arch,
      label: net.label,
      checkpoint: rel,
      trained: 'resumed',
      steps: total,
      epochs: o.epochs,
      lr: lrOf(o, net),
      test_accuracy: Number(m.test_accuracy),
      trained_with_code: (m.code as { commit?: string } | undefined)?.commit ?? null,
      test_images: Number(m.test_images),
      final_loss: m.final_loss === null || m.final_loss === undefined ? null : Number(m.final_loss),
      train_seconds: Number(m.train_seconds),
    };
  }

  const model = buildLipschitzNet(net, { width: o.width });
  const params = model.countParams();
  log(`[${net.arch}] ${net.label}, width ${o.width}: ${params.toLocaleString('en-US')} weights; ${total} steps of batch ${o.batchSize} (${perEpoch} per epoch, ${o.epochs} epoch(s)), Adam lr ${lrOf(o, net)}`);
  const t0 = Date.now();
  let epochStart = t0;
  let sum = 0;
  let count = 0;
  let lastLoss: number | null = null;
  const epochs: Array<{ epoch: number; steps: number; loss: number; test_accuracy: number; seconds: number }> = [];
  const logEvery = o.logEvery ?? 50;
  try {
    trainBasic(model, data.train, {
      steps: total,
      batchSize: o.batchSize,
      learningRate: lrOf(o, net),
      seed: 0,
      augment: o.augment,
      onStep: (step, loss) => {
        sum += loss;
        count++;
        lastLoss = loss;
        const done = step + 1;
        if (!Number.isFinite(loss)) throw new Error(`[${net.arch}] the loss is ${loss} at step ${done}: training diverged (try a smaller --lr)`);
        const endOfEpoch = done % perEpoch === 0 || done === total;
        if (!endOfEpoch && logEvery > 0 && done % logEvery === 0) {
          const rate = (done * o.batchSize) / ((Date.now() - t0) / 1000);
          log(`[${net.arch}]   step ${done}/${total}: loss ${loss.toFixed(3)}, ${rate.toFixed(0)} images/s, about ${fmtSeconds(((total - done) * o.batchSize) / rate)} left`);
        }
        if (endOfEpoch) {
          const trainSeconds = (Date.now() - epochStart) / 1000;
          const acc = accuracy(model, data.accuracy);
          const epoch = done / perEpoch;
          epochs.push({ epoch, steps: count, loss: sum / count, test_accuracy: acc, seconds: trainSeconds });
          log(
            `[${net.arch}] epoch ${done === total ? o.epochs : Number(epoch.toFixed(3))}/${o.epochs}: loss ${(sum / count).toFixed(3)} (mean of ${count} steps), ` +
              `test accuracy ${pct(acc)} (${data.accuracy.n} images), ${fmtSeconds(trainSeconds)} (${((count * o.batchSize) / trainSeconds).toFixed(0)} images/s)`,
          );
          sum = 0;
          count = 0;
          epochStart = Date.now();
        }
      },
    });
    const trainSeconds = (Date.now() - t0) / 1000;
    const testAccuracy = epochs[epochs.length - 1].test_accuracy;
    const metrics = { test_accuracy: testAccuracy, test_images: data.accuracy.n, test_set: o.test.name, final_loss: lastLoss, train_seconds: trainSeconds, epochs, params, code };
    await saveCheckpoint(dir, model, {
      arch: net.arch,
      archOptions: lipschitzBuildOptions(net, { width: o.width }),
      epoch: o.epochs,
      config: identity,
      metrics,
      seeds: { init: 0, batches: 0, augment: o.augment ? '0/augment' : null },
      backend: tf.getBackend(),
    });
    log(`[${net.arch}] trained in ${fmtSeconds(trainSeconds)}; test accuracy ${pct(testAccuracy)}; checkpoint ${rel}`);
    if (testAccuracy < LEARNED_ACCURACY) {
      log(`[${net.arch}] WARNING: test accuracy ${pct(testAccuracy)} is near chance (10%): this net did not learn, so its bounds describe an untrained net. Train longer or with another --lr (this run: ${lrOf(o, net)}) after removing ${rel}.`);
    }
    return {
      arch: net.arch,
      label: net.label,
      checkpoint: rel,
      trained: 'now',
      steps: total,
      epochs: o.epochs,
      lr: lrOf(o, net),
      test_accuracy: testAccuracy,
      trained_with_code: code.commit,
      test_images: data.accuracy.n,
      final_loss: lastLoss,
      train_seconds: trainSeconds,
    };
  } finally {
    model.dispose();
  }
}

/** The learning rate(s) of these nets: one number, or each net's when they differ. */
function lrText(o: Pick<LipschitzNetsOptions, 'learningRate'>, records: readonly Pick<NetRecord, 'label' | 'arch'>[]): string {
  const lrs = records.map((r) => lrOf(o, lipschitzNet(r.arch)));
  if (!lrs.length || lrs.every((x) => x === lrs[0])) return `${lrs[0] ?? o.learningRate ?? 'per net'}`;
  return records.map((r, i) => `${r.label} ${lrs[i]}`).join(', ');
}

/** What the note of a figure's rows says: how the nets were obtained and how well they classify. */
export function runNote(o: LipschitzNetsOptions, records: readonly Pick<NetRecord, 'arch' | 'label' | 'test_accuracy' | 'steps'>[], extra?: string): string {
  const data = o.train.name.includes('jpeg')
    ? `${o.train.name}: the JPEG re-encoding of CIFAR-10, lossy, not bit-identical to the official release`
    : o.train.name;
  const of = (n: number | undefined, all: number) => (n !== undefined && n < all ? `${n.toLocaleString('en-US')} of the ${all.toLocaleString('en-US')}` : `the ${all.toLocaleString('en-US')}`);
  const trainPart = `on ${of(o.subset, o.train.n)} training images`;
  const testPart = `on ${of(o.testSubset, o.test.n)} test images`;
  const steps = records.length ? records[0].steps : stepsFor(o.subset ?? o.train.n, o.batchSize, o.epochs).total;
  return (
    `ours: trained on CIFAR-10 here (${data}), not the paper's pretrained ImageNet nets; width ${o.width}, ${o.epochs} epoch(s) ${trainPart} ` +
    `(${steps} Adam steps, batch ${o.batchSize}, lr ${lrText(o, records)}, ${o.augment ? 'crop + flip' : 'no augmentation'}), plain cross-entropy, init seed 0; ` +
    `test accuracy ${testPart}: ${records.map((r) => `${r.label} ${pct(r.test_accuracy)}`).join(', ')}` +
    (extra ? `; ${extra}` : '')
  );
}

function csv(columns: string[], rows: readonly Record<string, unknown>[]): string {
  return toCsv({ columns, values: rows.map((r) => columns.map((c) => r[c] ?? null)) });
}

/** Copies a net's checkpoint into DEST/<its folder name> when under MAX_CHECKPOINT_BYTES; otherwise says how to regenerate it. */
function publishCheckpoint(src: string, dest: string, arch: string, command: string | undefined): Record<string, unknown> {
  const bytes = dirBytes(src);
  if (bytes > MAX_CHECKPOINT_BYTES) {
    return { net: arch, dir: null, bytes, regenerate: `${command ?? 'npm run lipschitz-nets --'} --nets ${arch} (the same settings retrain it)` };
  }
  publishDir(path.join(dest, path.basename(src)), (tmp) => fs.cpSync(src, tmp, { recursive: true }));
  return { net: arch, dir: path.join('checkpoints', path.basename(src)), bytes };
}

const GLOBAL_COLUMNS = ['figure', 'net', 'layer', 'kind', 'lipschitz', 'upper', 'upper_method', 'note'];
const LOCAL_COLUMNS = ['figure', 'net', 'gamma', 'image', 'layer', 'bound', 'note'];

/**
 * The whole run: train (or resume) each net, then write the three CSVs and
 * provenance.json into `outDir`. Throws UsageError for bad options.
 */
export async function runLipschitzNets(o: LipschitzNetsOptions): Promise<LipschitzNetsResult> {
  checkOptions(o);
  const data: RunData = { train: evenSubset(o.train, o.subset, '--subset'), accuracy: evenSubset(o.test, o.testSubset, '--test-subset') };
  if (o.batchSize > data.train.n) throw new UsageError(`--batch-size must be an integer in 1..${data.train.n} (the training images), got ${o.batchSize}`);
  const log = o.log ?? ((l: string) => console.log(l));
  const started = new Date();
  const nets = LIPSCHITZ_NETS.filter((n) => !o.nets || o.nets.includes(n.arch));
  const records: NetRecord[] = [];
  const code = codeVersion();
  for (const net of nets) records.push({ ...(await trainOrResume(o, data, net, code, log)), lipschitz_seconds: 0 });

  // Notes per figure: each names the accuracy of the nets drawn in it.
  const inFigure = (fig: string) => records.filter((r) => lipschitzNet(r.arch).figure === fig);
  // Short, for the figures' panel titles; the note says where and how.
  const weights = `trained ${o.epochs} epoch${o.epochs === 1 ? '' : 's'}`;
  const tables: LipschitzTables = { global: [], images: [], testset: [] };
  for (const net of nets) {
    const rec = records.find((r) => r.arch === net.arch)!;
    const t0 = Date.now();
    const { model } = await loadCheckpoint(checkpointDir(o, net.arch), { expectArch: { arch: net.arch, options: lipschitzBuildOptions(net, { width: o.width }) } });
    try {
      const localExtra =
        net.arch === '4c3f'
          ? `f_L = its first ${LOCAL_DEPTH} layers, trained with ReLU_theta (theta = 1); 4C3F instead of the paper's AlexNet, whose overlapping 3x3/2 max-pool cannot sit in f_L`
          : `f_L = its first ${LOCAL_DEPTH} layers, trained with ReLU_theta (theta = 1)`;
      const t = netTables(net, model, {
        width: o.width,
        weights,
        note: runNote(o, inFigure(net.figure)),
        localNote: runNote(o, [rec], localExtra),
        test: o.test,
        globalIterations: o.globalIterations,
        localIterations: o.localIterations,
        testsetImages: o.testsetImages,
      });
      tables.global.push(...t.global);
      tables.images.push(...t.images);
      tables.testset.push(...t.testset);
      rec.lipschitz_seconds = (Date.now() - t0) / 1000;
      log(`[${net.arch}] Lipschitz: ${describeGlobalRows(t.global)}${t.images.length ? `; local bounds of ${t.images.length / LOCAL_DEPTH} + ${t.testset.length / LOCAL_DEPTH} images` : ''} (${fmtSeconds(rec.lipschitz_seconds)})`);
    } finally {
      model.dispose();
    }
  }

  const files = [
    [LIPSCHITZ_FILES.global, csv(GLOBAL_COLUMNS, tables.global)],
    [LIPSCHITZ_FILES.images, csv(LOCAL_COLUMNS, tables.images)],
    [LIPSCHITZ_FILES.testset, csv(LOCAL_COLUMNS, tables.testset)],
  ].map(([name, text]) => {
    const f = path.join(o.outDir, name);
    writeFileAtomic(f, text);
    return f;
  });
  // The trained weights go beside the CSVs when small enough to commit; otherwise how to regenerate them.
  const checkpoints = records.map((r) => publishCheckpoint(checkpointDir(o, r.arch), path.join(o.outDir, 'checkpoints'), r.arch, o.command));
  const provenance = {
    what: "per-layer spectral norms and local Lipschitz bounds of the nets of Fig. 1, 5, 6, trained on CIFAR-10 here (scripts/lipschitz-nets.ts)",
    command: o.command ?? null,
    code,
    started: started.toISOString(),
    finished: new Date().toISOString(),
    backend: tf.getBackend(),
    machine: machineInfo(),
    dataset: {
      train: { name: o.train.name, source: o.train.source ?? null, images: o.train.n, trained_on: data.train.n, subset: o.subset === undefined ? null : 'evenly spaced' },
      test: { name: o.test.name, source: o.test.source ?? null, images: o.test.n, accuracy_on: data.accuracy.n, subset: o.testSubset === undefined ? null : 'evenly spaced' },
    },
    training: { width: o.width, epochs: o.epochs, batch_size: o.batchSize, lr: o.learningRate ?? 'per net (nets[].lr)', optimizer: 'adam', loss: 'softmax cross-entropy', augment: o.augment, seed: 0 },
    nets: records,
    checkpoints,
    files: files.map((f) => path.basename(f)),
  };
  const provFile = path.join(o.outDir, 'provenance.json');
  writeFileAtomic(provFile, JSON.stringify(provenance, null, 2) + '\n');
  files.push(provFile);
  return { nets: records, tables, files };
}

// ------------------------------------------------------------------ command line

function num(name: string, v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`${name} must be a number, got '${v}'`);
  return x;
}

function positiveInt(name: string, v: string): number {
  const x = num(name, v);
  if (!Number.isInteger(x) || x < 1) throw new UsageError(`${name} must be a positive integer, got '${v}'`);
  return x;
}

/** The command line's settings, checked before any data is loaded. */
export interface CliOptions {
  width: number;
  epochs: number;
  batchSize: number;
  learningRate?: number;
  augment: boolean;
  nets?: LipschitzArch[];
  subset?: number;
  testSubset?: number;
  runsDir: string;
  outDir: string;
  logEvery: number;
}

/** Parses and checks the options (UsageError with a one-line message when one is bad). */
export function parseArgs(argv: string[]): CliOptions {
  const program = new Command()
    .name('npm run lipschitz-nets --')
    .description("train the nets of Fig. 1, 5, 6 on CIFAR-10 and write the Lipschitz figures' CSVs")
    .option('--width <w>', 'width multiplier of every net (1 = published width)', '0.25')
    .option('--epochs <e>', 'epochs of training (fractions allowed)', '2')
    .option('--nets <list>', `comma-separated subset of ${LIPSCHITZ_NETS.map((n) => n.arch).join(',')}`)
    .option('--batch-size <b>', 'batch size', '128')
    .option('--lr <lr>', "Adam learning rate of every net (default: each net's own: VGG-16 1e-4, the others 1e-3)")
    .option('--no-augment', 'no crop (pad 4) + flip augmentation')
    .option('--subset <n>', 'train on n training images only (evenly spaced over the set)')
    .option('--test-subset <n>', 'measure test accuracy on n test images only (evenly spaced); the local bounds use the full test set')
    .option('--runs <dir>', 'checkpoint folder', path.join(ROOT, 'runs', 'lipschitz-nets'))
    .option('--out <dir>', 'folder of the CSVs and provenance.json', path.join(ROOT, 'data', 'results', 'lipschitz'))
    .option('--log-every <steps>', 'progress line every this many steps (0: epoch lines only)', '50')
    .exitOverride((e) => {
      // --help and --version exit quietly; a usage error becomes our one-line error.
      if (e.exitCode === 0) process.exit(0);
      throw new UsageError(e.message.replace(/^error: /, ''));
    })
    .configureOutput({ writeErr: () => undefined })
    .parse(argv, { from: 'user' });
  const opts = program.opts<{ width: string; epochs: string; nets?: string; batchSize: string; lr?: string; augment: boolean; subset?: string; testSubset?: string; runs: string; out: string; logEvery: string }>();
  const width = num('--width', opts.width);
  if (!(width > 0)) throw new UsageError(`--width must be a positive number (1 = the published width), got ${opts.width}`);
  const epochs = num('--epochs', opts.epochs);
  if (!(epochs > 0)) throw new UsageError(`--epochs must be a positive number (fractions allowed), got ${opts.epochs}`);
  const learningRate = opts.lr === undefined ? undefined : num('--lr', opts.lr);
  if (learningRate !== undefined && !(learningRate > 0)) throw new UsageError(`--lr must be a positive number, got ${opts.lr}`);
  const logEvery = num('--log-every', opts.logEvery);
  if (!Number.isInteger(logEvery) || logEvery < 0) throw new UsageError(`--log-every must be an integer >= 0, got '${opts.logEvery}'`);
  let nets: LipschitzArch[] | undefined;
  if (opts.nets !== undefined) {
    const names = opts.nets.split(',').map((s) => s.trim()).filter((s) => s);
    if (!names.length) throw new UsageError('--nets is empty');
    nets = names.map((a) => {
      try {
        return lipschitzNet(a).arch;
      } catch (e) {
        throw new UsageError(`--nets: ${(e as Error).message}`);
      }
    });
  }
  return {
    width,
    epochs,
    batchSize: positiveInt('--batch-size', opts.batchSize),
    learningRate,
    augment: opts.augment,
    nets,
    subset: opts.subset === undefined ? undefined : positiveInt('--subset', opts.subset),
    testSubset: opts.testSubset === undefined ? undefined : positiveInt('--test-subset', opts.testSubset),
    runsDir: path.resolve(opts.runs),
    outDir: path.resolve(opts.out),
    logEvery,
  };
}

async function main(argv: string[]): Promise<void> {
  const cli = parseArgs(argv);
  const backend = await initBackend();
  const train = await loadCifar10('train');
  const test = await loadCifar10('test');
  console.log(`backend ${backend.chosen}; ${train.name}: ${train.n} training, ${test.n} test images${train.name.includes('jpeg') ? ' (the JPEG re-encoding: lossy, not bit-identical to the official release)' : ''}`);
  const t0 = Date.now();
  const r = await runLipschitzNets({ ...cli, train, test, command: `npm run lipschitz-nets -- ${argv.join(' ')}`.trim() });
  console.log(`\n${'net'.padEnd(12)} ${'accuracy'.padStart(9)} ${'training'.padStart(10)} ${'bounds'.padStart(9)}  checkpoint`);
  for (const n of r.nets) {
    console.log(`${n.label.padEnd(12)} ${pct(n.test_accuracy).padStart(9)} ${fmtSeconds(n.train_seconds).padStart(10)} ${fmtSeconds(n.lipschitz_seconds).padStart(9)}  ${n.checkpoint}${n.trained === 'resumed' ? ' (trained before)' : ''}`);
  }
  console.log(`\nwrote ${r.files.map((f) => path.relative(process.cwd(), f) || f).join(', ')} in ${fmtSeconds((Date.now() - t0) / 1000)}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`lipschitz-nets: ${(e as Error).message.split('\n')[0]}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
