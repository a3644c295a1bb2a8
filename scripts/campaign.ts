/**
 * `npm run campaign -- [--only a,b] [--workers K] [--status | --park]`: the
 * reproduction campaign of docs/REPRODUCTION.md, run after run, resumable.
 *
 * For each run of scripts/campaign-plan.json (config + scale), in order:
 *   1. train it, or resume it from its last epoch checkpoint
 *      (`splitz train CONFIG --scale S [--resume]`, run directory runs/<name>-<scale>/);
 *   2. certify its best checkpoint, or resume the log at the first image
 *      without a record (`splitz certify CONFIG --scale S [--resume] --workers K`);
 *   3. for runs marked global_bound: write the global Lipschitz bound of f_L
 *      beside the log (global-lipschitz.json, Fig. 4b);
 *   4. publish it: data/results/<name>-<scale>/ gets the resolved config, the
 *      commands, backend, machine, code version and wall times (run.json), the
 *      training log, the certification log and sidecar, the stdout of both
 *      steps, and the best checkpoint when under 20 MB. The folder is built
 *      beside its final place and renamed into it, so data/results never holds
 *      half a run.
 * A run with no runs/<id>/ but a parked copy in data/in-progress/<id>/
 * (`--park`, scripts/park.ts) is restored from it first, so a fresh clone
 * resumes what an earlier work tree left.
 * A published run is skipped, and so is a run another campaign process is
 * working on (runs/campaign/locks/), so two campaigns can share the machine,
 * e.g. one training while the other certifies. Killing the campaign at any moment loses at most
 * the epoch or image in progress; starting it again continues.
 *
 * The steps run a frozen copy of the compiled library
 * (runs/campaign/engine/<commit>/), so rebuilding dist/ while the campaign runs
 * cannot change the code under a run; run.json records that commit.
 *
 * Long: start it with `nohup npm run campaign > runs/campaign/campaign.out 2>&1 &`.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import { readJsonLines } from '../lib/io/jsonl';
import { readCertifyLog } from '../lib/eval/log';
import { certifyLogName, isCertifyLog } from '../lib/runner/files';
import { gitCommit } from './git';
import { extensionState, plannedTraining } from './train-progress';
import { MAX_CHECKPOINT_BYTES, dirBytes, publishDir } from './publish';
import { describeParked, parkRun, readParked, restoreRun, trainingDone } from './park';

const ROOT = path.resolve(__dirname, '..');
const CAMPAIGN_DIR = path.join(ROOT, 'runs', 'campaign');
/** Where `--park` leaves unfinished runs for a later clone to resume (scripts/park.ts). */
const PARKED_DIR = path.join(ROOT, 'data', 'in-progress');

interface PlanRun {
  config: string;
  scale: string;
  global_bound?: boolean;
  /** Facts about the run that its logs do not hold (copied into run.json). */
  notes?: string[];
}

interface Options {
  plan: string;
  engine?: string;
  only?: string;
  workers: string;
  results: string;
  status?: boolean;
  park?: boolean;
}

const idOf = (r: PlanRun, name: string) => `${name}-${r.scale}`;
const log = (line: string) => console.log(`[campaign ${new Date().toISOString()}] ${line}`);

/** A copy of dist/ and bin/ that later rebuilds do not touch (modules still resolve from the project's node_modules). */
function freezeEngine(): { dir: string; commit: string; dirty: boolean } {
  const { commit, dirty } = gitCommit(ROOT);
  if (!fs.existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const name = `${commit.slice(0, 12)}${dirty ? `-dirty-${Date.now()}` : ''}`;
  const dir = path.join(CAMPAIGN_DIR, 'engine', name);
  if (!fs.existsSync(path.join(dir, 'dist', 'cli.js'))) {
    publishDir(dir, (tmp) => {
      fs.cpSync(path.join(ROOT, 'dist'), path.join(tmp, 'dist'), { recursive: true });
      fs.cpSync(path.join(ROOT, 'bin'), path.join(tmp, 'bin'), { recursive: true });
    });
  }
  return { dir, commit, dirty };
}

/** An engine frozen earlier (so a restarted campaign keeps the code its runs started with). */
function reuseEngine(dir: string): { dir: string; commit: string; dirty: boolean } {
  const abs = path.resolve(ROOT, dir);
  if (!fs.existsSync(path.join(abs, 'dist', 'cli.js'))) throw new Error(`--engine ${dir}: no frozen engine there (expected dist/cli.js); see runs/campaign/engine/`);
  const name = path.basename(abs);
  const sha = /^[0-9a-f]{12}/.exec(name)?.[0];
  const full = sha ? spawnSync('git', ['rev-parse', sha], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() : '';
  return { dir: abs, commit: full || name, dirty: name.includes('-dirty-') };
}

/**
 * Per-run locks (runs/campaign/locks/<id>.lock, holding the owner's pid), so
 * that two campaign processes can share the machine: each skips a run the
 * other is working on, and two never train into the same run directory. A lock
 * whose process is gone (or is no longer a campaign) is stale and taken over.
 */
const LOCK_DIR = path.join(CAMPAIGN_DIR, 'locks');
const heldLocks = new Set<string>();
/** Runs skipped because another campaign process held them. */
const leftToOthers: string[] = [];

/** The pid of the live campaign process holding run ID, if any. */
function lockHolder(id: string): number | undefined {
  const file = path.join(LOCK_DIR, `${id}.lock`);
  let pid: number;
  try {
    pid = Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    // A pid can be reused after a reboot: only a process that is a campaign counts.
    if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('campaign')) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

/** Takes the lock of run ID; false when another live campaign holds it. */
function claimRun(id: string): boolean {
  fs.mkdirSync(LOCK_DIR, { recursive: true });
  const file = path.join(LOCK_DIR, `${id}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // 'wx' creates the file only if it does not exist: of two processes racing, one wins.
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      heldLocks.add(file);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (lockHolder(id) !== undefined) return false;
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  return false;
}

function releaseRun(id: string): void {
  const file = path.join(LOCK_DIR, `${id}.lock`);
  if (heldLocks.delete(file)) fs.rmSync(file, { force: true });
}

process.on('exit', () => {
  for (const file of heldLocks) fs.rmSync(file, { force: true });
});

/** Set when the campaign is asked to stop (SIGTERM, SIGINT), so a stopped step is not reported as a failure. */
let stopRequested: NodeJS.Signals | undefined;

/** Why a step ended early: a stop the user asked for, or an error in the step. */
function endedEarly(id: string, step: 'training' | 'certification', out: string): void {
  if (stopRequested) {
    log(`${id}: ${step} stopped by ${stopRequested}; what was done is kept, and the same command resumes it`);
  } else {
    log(`${id}: ${step} stopped with an error; see ${path.relative(ROOT, out)}`);
  }
}

/** Runs `splitz ARGS` from the frozen engine, appending its output to OUT; resolves to the exit code. */
function splitz(engine: string, args: string[], out: string): Promise<number> {
  const cmd = [path.join(engine, 'bin', 'splitz.js'), ...args];
  fs.appendFileSync(out, `\n$ splitz ${args.join(' ')}    # ${new Date().toISOString()}, engine ${path.basename(engine)}\n`);
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(out, 'a');
    const child = spawn(process.execPath, cmd, { cwd: ROOT, stdio: ['ignore', fd, fd] });
    // Stopping the campaign stops the step too (its checkpoint or log keeps what was done).
    const stop = (signal: NodeJS.Signals) => {
      stopRequested = signal;
      child.kill('SIGTERM');
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      fs.closeSync(fd);
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memory_gib: Math.round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`, node: process.version };
}

/** The global Lipschitz bound of f_L of a checkpoint (sound mode), in-process. */
async function writeGlobalBound(engineDir: string, checkpointDir: string, split: number, file: string): Promise<number> {
  // Loaded here only: the orchestrator itself needs no tensors otherwise.
  const lib = await import(path.join(engineDir, 'dist', 'index.js'));
  await lib.initBackend();
  const ck = await lib.loadCheckpoint(checkpointDir);
  const g = lib.globalLipschitzOfSplit(lib.splitModel(ck.model, split), { mode: 'sound' });
  ck.model.dispose();
  const body = { L: g.L, mode: 'sound', perLayer: g.perLayer.map((p: { norm: number }) => p.norm), checkpoint: path.relative(ROOT, checkpointDir), computed: new Date().toISOString() };
  fs.writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
  return g.L;
}

async function runOne(r: PlanRun, engine: { dir: string; commit: string; dirty: boolean }, opts: Options): Promise<boolean> {
  const config = JSON.parse(fs.readFileSync(path.join(ROOT, r.config), 'utf8')) as { name: string; split: number };
  const id = idOf(r, config.name);
  const published = path.resolve(ROOT, opts.results, id);
  if (fs.existsSync(path.join(published, 'run.json'))) {
    log(`${id}: published already (${path.relative(ROOT, published)}), skipped`);
    return true;
  }
  if (!claimRun(id)) {
    log(`${id}: another campaign process (pid ${lockHolder(id)}) is working on it, skipped`);
    leftToOthers.push(id);
    return true;
  }
  try {
    return await trainCertifyPublish(r, engine, opts, config, id, published);
  } finally {
    releaseRun(id);
  }
}

async function trainCertifyPublish(
  r: PlanRun,
  engine: { dir: string; commit: string; dirty: boolean },
  opts: Options,
  config: { name: string; split: number },
  id: string,
  published: string,
): Promise<boolean> {
  const runDir = path.join(ROOT, 'runs', id);
  const trainOut = path.join(CAMPAIGN_DIR, `${id}.train.out`);
  const certifyOut = path.join(CAMPAIGN_DIR, `${id}.certify.out`);
  const parked = path.join(PARKED_DIR, id);
  if (!fs.existsSync(runDir) && readParked(parked)) {
    const m = restoreRun(id, parked, runDir, CAMPAIGN_DIR);
    log(`${id}: resumed from its parked copy ${path.relative(ROOT, parked)} (parked ${m.parked}: ${describeParked(m)})`);
  }

  if (trainingDone(runDir)) {
    // A parked run whose training is done comes without its power-iteration vectors, which `train --resume` would load.
    log(`${id}: training done, certification next`);
  } else {
    const trainArgs = ['train', r.config, '--scale', r.scale, '--no-progress', ...(fs.existsSync(path.join(runDir, 'train-log.jsonl')) ? ['--resume'] : [])];
    log(`${id}: splitz ${trainArgs.join(' ')} (output: ${path.relative(ROOT, trainOut)})`);
    if ((await splitz(engine.dir, trainArgs, trainOut)) !== 0) {
      endedEarly(id, 'training', trainOut);
      return false;
    }
  }

  // The certification log's name follows the resolved n (certify-n<n>.tsv).
  const lib = await import(path.join(engine.dir, 'dist', 'index.js'));
  const resolved = lib.loadConfig(path.join(ROOT, r.config), { scale: r.scale });
  const logName = certifyLogName(resolved.certify.n);
  const certifyArgs = ['certify', r.config, '--scale', r.scale, '--no-progress', '--workers', opts.workers, ...(fs.existsSync(path.join(runDir, logName)) ? ['--resume'] : [])];
  log(`${id}: splitz ${certifyArgs.join(' ')} (output: ${path.relative(ROOT, certifyOut)})`);
  if ((await splitz(engine.dir, certifyArgs, certifyOut)) !== 0) {
    endedEarly(id, 'certification', certifyOut);
    return false;
  }

  let globalL: number | undefined;
  if (r.global_bound && config.split > 0) {
    globalL = await writeGlobalBound(engine.dir, path.join(runDir, 'best'), config.split, path.join(runDir, 'global-lipschitz.json'));
    log(`${id}: global Lipschitz bound of f_L (sound) = ${globalL.toFixed(4)}`);
  }

  // Publish: build the folder beside its place, then rename it in.
  const runJson = publishDir(published, (tmp) => {
    const copy = (from: string, to = path.basename(from)) => fs.copyFileSync(from, path.join(tmp, to));
    copy(path.join(runDir, 'train-log.jsonl'));
    copy(path.join(runDir, logName));
    copy(path.join(runDir, `${logName}.json`));
    if (globalL !== undefined) copy(path.join(runDir, 'global-lipschitz.json'));
    copy(trainOut, 'train.out');
    copy(certifyOut, 'certify.out');
    fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(resolved, null, 2) + '\n');
    const bestBytes = dirBytes(path.join(runDir, 'best'));
    if (bestBytes <= MAX_CHECKPOINT_BYTES) fs.cpSync(path.join(runDir, 'best'), path.join(tmp, 'best'), { recursive: true });

    const trainLog = readJsonLines(path.join(runDir, 'train-log.jsonl'));
    const epochs = trainLog.filter((l) => l.type === 'epoch');
    const side = JSON.parse(fs.readFileSync(path.join(runDir, `${logName}.json`), 'utf8')) as { runs?: { command?: string; backend?: string; workers?: number }[] };
    const certRecords = lib.readCertifyLog(path.join(runDir, logName)).records as { time: number }[];
    const runJson = {
      id,
      config: r.config,
      scale: { name: resolved.scale.name, note: resolved.scale.note },
      code: {
        commit: engine.commit,
        uncommitted_lib_changes: engine.dirty,
        engine: path.relative(ROOT, engine.dir),
        // A run resumed across campaign restarts may have used several engines: every step's header names its own.
        engines_of_steps: [...new Set([trainOut, certifyOut].flatMap((f) => [...fs.readFileSync(f, 'utf8').matchAll(/# [^,]+, engine (\S+)/g)].map((m) => m[1])))],
      },
      machine: machine(),
      training: {
        commands: trainLog.filter((l) => l.type === 'run' || l.type === 'resume').map((l) => ({ type: l.type, time: l.time, command: l.command, backend: l.backend })),
        epochs: epochs.length,
        wall_seconds: epochs.reduce((s, e) => s + Number(e.seconds ?? 0), 0),
      },
      certification: {
        log: logName,
        commands: (side.runs ?? []).map((x) => ({ command: x.command, backend: x.backend, workers: x.workers })),
        images: certRecords.length,
        // The sum of the per-image times: with W workers in parallel the wall time is about this / W.
        worker_seconds: certRecords.reduce((s, x) => s + x.time, 0),
      },
      global_bound: globalL ?? null,
      notes: r.notes ?? [],
      checkpoint:
        bestBytes <= MAX_CHECKPOINT_BYTES
          ? { dir: 'best', bytes: bestBytes }
          : { dir: null, bytes: bestBytes, regenerate: `splitz train ${r.config} --scale ${r.scale} (the training log above records every epoch)` },
      published: new Date().toISOString(),
    };
    fs.writeFileSync(path.join(tmp, 'run.json'), JSON.stringify(runJson, null, 2) + '\n');
    return runJson;
  });
  // Its parked copy, if any, is superseded (commit its removal with the result).
  fs.rmSync(parked, { recursive: true, force: true });
  log(`${id}: published to ${path.relative(ROOT, published)} (training ${(runJson.training.wall_seconds / 60).toFixed(1)} min, certification ${(runJson.certification.worker_seconds / 60).toFixed(1)} worker-min)`);
  return true;
}

/** "about 25 min" / "about 3.2 h": a remaining time at the rate measured so far. */
function aboutTime(seconds: number): string {
  return seconds < 90 * 60 ? `about ${Math.max(1, Math.round(seconds / 60))} min` : `about ${(seconds / 3600).toFixed(1)} h`;
}

/**
 * How far an unpublished run has come, from its files alone: epochs done of
 * the planned ones (the training log's first line holds the resolved config),
 * the seconds of the last epoch and the training time left at the mean of the
 * last 5 epochs (main epochs only: the early-stopping extension may end
 * sooner); images certified of the planned ones (the certification sidecar)
 * and the time left at the mean per-image time so far, divided among the
 * workers of the latest certification command. Times are wall times on a
 * shared machine: they move with its load.
 */
function runProgress(id: string): { started: boolean; detail: string } {
  const dir = path.join(ROOT, 'runs', id);
  const trainLog = path.join(dir, 'train-log.jsonl');
  if (!fs.existsSync(trainLog)) return { started: false, detail: '' };
  const lines = readJsonLines(trainLog);
  const epochs = lines.filter((l) => l.type === 'epoch');
  const train = plannedTraining(lines);
  const planned = train?.epochs ? ` of ${train.epochs}` : '';
  const extra = train?.extra_epochs ? ` (+ up to ${train.extra_epochs} with early stopping)` : '';
  const last = epochs.length ? `, the last in ${Number(epochs[epochs.length - 1].seconds ?? 0).toFixed(0)} s` : '';
  const recent = epochs.slice(-5).map((e) => Number(e.seconds ?? 0));
  const left = train?.epochs ? train.epochs - epochs.length : 0;
  const trainLeft = left > 0 && recent.length ? `; ${aboutTime((left * recent.reduce((a, b) => a + b, 0)) / recent.length)} of training left` : '';
  const parts = [`${epochs.length}${planned} epochs trained${extra}${last}${trainLeft}${extensionState(lines, train)}`];
  for (const f of fs.readdirSync(dir).filter(isCertifyLog)) {
    let times: number[];
    try {
      // The log is being appended to: a last line without its newline is not a record yet.
      times = readCertifyLog(path.join(dir, f), { partialLastLine: 'drop' }).records.map((r) => r.time);
    } catch (e) {
      parts.push(`${f}: unreadable (${(e as Error).message})`);
      continue;
    }
    const done = times.length;
    let total = '';
    let eta = '';
    try {
      const side = JSON.parse(fs.readFileSync(path.join(dir, `${f}.json`), 'utf8')) as { images: { total: number }; runs?: { workers?: number }[] };
      total = ` of ${side.images.total}`;
      const workers = Math.max(1, side.runs?.[side.runs.length - 1]?.workers ?? 1);
      const remaining = side.images.total - done;
      const timed = times.filter(Number.isFinite);
      if (remaining > 0 && timed.length) eta = `, ${aboutTime((remaining * timed.reduce((a, b) => a + b, 0)) / timed.length / workers)} left`;
    } catch {
      // no sidecar yet: the count alone
    }
    parts.push(`${f}: ${done}${total} images certified${eta}`);
  }
  return { started: true, detail: parts.join('; ') };
}

/**
 * `--park`: every unpublished run with a run directory is copied into
 * data/in-progress/<id>/ (scripts/park.ts), to be committed. A run a live
 * campaign is working on is refused: stop the campaign first, so the copy is
 * one moment of the run.
 */
function parkAll(ids: string[], opts: Options): void {
  let refused = 0;
  let parked = 0;
  for (const id of ids) {
    if (fs.existsSync(path.resolve(ROOT, opts.results, id, 'run.json')) || !fs.existsSync(path.join(ROOT, 'runs', id, 'train-log.jsonl'))) continue;
    const holder = lockHolder(id);
    if (holder !== undefined) {
      console.log(`not parked ${id}: campaign pid ${holder} is working on it; stop it first (kill ${holder}), then park`);
      refused++;
      continue;
    }
    try {
      const m = parkRun(id, path.join(ROOT, 'runs', id), CAMPAIGN_DIR, path.join(PARKED_DIR, id));
      const left = m.left_out.map((x) => `; left out ${x.file} (${x.why})`).join('');
      parked++;
      console.log(`parked ${id} in ${path.relative(ROOT, PARKED_DIR)}/${id}: ${describeParked(m)}${left}`);
    } catch (e) {
      console.log(`not parked ${(e as Error).message}`);
      refused++;
    }
  }
  console.log(parked ? `commit ${path.relative(ROOT, PARKED_DIR)}/ so that a fresh clone resumes these runs` : 'nothing parked');
  if (refused) process.exitCode = 1;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('npm run campaign --')
    .option('--plan <file>', 'the campaign plan', path.join('scripts', 'campaign-plan.json'))
    .option('--only <ids>', 'comma-separated run ids (<config name>-<scale>) to do, in plan order')
    .option('--workers <k>', 'worker threads for certification', '1')
    .option('--engine <dir>', 'run the steps with this frozen engine (runs/campaign/engine/<commit>) instead of freezing the current dist/')
    .option('--results <dir>', 'where finished runs are published', path.join('data', 'results'))
    .option('--status', 'print what is published, in progress and to do, then exit')
    .option('--park', 'copy every unfinished run (stopped first) into data/in-progress/ for a later clone to resume, then exit');
  program.parse(process.argv);
  const opts = program.opts<Options>();
  const plan = JSON.parse(fs.readFileSync(path.resolve(ROOT, opts.plan), 'utf8')) as { runs: PlanRun[] };
  const only = opts.only?.split(',').map((s) => s.trim());
  const named = plan.runs.map((r) => ({ r, id: idOf(r, (JSON.parse(fs.readFileSync(path.join(ROOT, r.config), 'utf8')) as { name: string }).name) }));
  if (only) {
    const unknown = only.filter((o) => !named.some((n) => n.id === o));
    if (unknown.length) throw new Error(`--only: no run ${unknown.join(', ')} in ${opts.plan}; runs are ${named.map((n) => n.id).join(', ')}`);
  }
  const todo = named.filter((n) => !only || only.includes(n.id));

  if (opts.status) {
    const counts = { published: 0, 'in progress': 0, 'to do': 0 };
    for (const { id } of todo) {
      const published = fs.existsSync(path.resolve(ROOT, opts.results, id, 'run.json'));
      const parked = published ? undefined : readParked(path.join(PARKED_DIR, id));
      const progress = published ? { started: false, detail: '' } : runProgress(id);
      if (!progress.started && parked) {
        progress.started = true;
        progress.detail = `parked ${parked.parked}: ${describeParked(parked)}; the campaign resumes it from ${path.relative(ROOT, PARKED_DIR)}/${id}`;
      }
      const holder = published ? undefined : lockHolder(id);
      const detail = [progress.detail, holder ? `running in pid ${holder}` : ''].filter(Boolean).join('; ');
      const state = published ? 'published' : progress.started ? 'in progress' : 'to do';
      counts[state]++;
      console.log(`${state.padEnd(11)} ${id}${detail ? ` (${detail})` : ''}`);
    }
    console.log(`${todo.length} runs: ${counts.published} published, ${counts['in progress']} in progress, ${counts['to do']} to do`);
    return;
  }

  if (opts.park) {
    parkAll(todo.map((t) => t.id), opts);
    return;
  }

  fs.mkdirSync(CAMPAIGN_DIR, { recursive: true });
  const engine = opts.engine ? reuseEngine(opts.engine) : freezeEngine();
  log(`engine ${path.relative(ROOT, engine.dir)} (commit ${engine.commit}${engine.dirty ? ', with uncommitted changes in lib/' : ''}); ${todo.length} runs; certification workers ${opts.workers}`);
  for (const { r } of todo) {
    if (!(await runOne(r, engine, opts))) {
      process.exitCode = 1;
      return;
    }
  }
  log(leftToOthers.length ? `done here; left to other campaign processes: ${leftToOthers.join(', ')}` : 'campaign done');
}

main().catch((e) => {
  console.error(`campaign: ${(e as Error).message}`);
  process.exit(1);
});
