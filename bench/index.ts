/**
 * `npm run bench`: samples/s of the workloads in ./workloads.ts on each
 * backend, with 1 worker (the main thread) and with K worker threads (one
 * backend each, lib/parallel) where the work splits, next to the PyTorch peer
 * run in the same invocation. Warm-up steps are excluded; each measurement
 * runs at least --seconds; the reported rate is the median of --repeats
 * rounds. Rounds interleave the two sides (all splitz measurements, then the
 * peer with 1 and with K threads), so a change in machine load hits both.
 *
 *   npm run bench -- [--seconds 5] [--repeats 3] [--workers 1,2] [--backends wasm]
 *                    [--only a,b] [--no-peer] [--json] [--json-out FILE] [--profile]
 */
import { Command } from 'commander';
import * as os from 'os';
import * as path from 'path';
import { BackendName, availableBackends, initBackend, tf } from '../lib/backend';
import { Pool, createPool } from '../lib/parallel/pool';
import { Timing, median, timeRunner, warmUp } from './measure';
import { PeerResult, findPeerScript, findTorchPython, runPeer } from './peer';
import { Runner, WORKLOADS, Workload } from './workloads';
import { Roofline, rooflineTf, rooflineTorch } from './roofline';

interface Row {
  workload: string;
  backend: BackendName;
  workers: number;
  samples_per_s: number;
  repeats: number[];
  load: number[];
  numTensors: number[];
}

interface Ratio {
  workload: string;
  backend: BackendName;
  workers: number;
  torch_threads: number;
  ratio: number;
}

interface Goal {
  text: string;
  value: number | undefined;
  target: number;
  /** 'min': value >= target; 'max': value <= target. */
  kind: 'min' | 'max';
}

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const load1 = () => Math.round(os.loadavg()[0] * 100) / 100;
const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

async function main(): Promise<void> {
  const cmd = new Command('bench')
    .description('splitz throughput vs PyTorch on this machine')
    .option('--seconds <s>', 'seconds per measurement', '5')
    .option('--repeats <n>', 'rounds; the median is reported', '3')
    .option('--workers <list>', 'worker counts to measure (parallel workloads)', `1,${os.cpus().length}`)
    .option('--backends <list>', "backends (default: those present, without 'cpu' when a faster one is: add it explicitly)")
    .option('--only <list>', 'workloads to run', '')
    .option('--no-peer', 'do not run the PyTorch peer')
    .option('--peer <file>', 'torch_peer.py (default ../shared/bench/torch_peer.py or $SPLITZ_TORCH_PEER)')
    .option('--python <exe>', 'python with torch (default /usr/bin/python3, then python3)')
    .option('--profile', 'print the kernels of one step of each workload (tf.profile) and exit')
    .option('--json', 'print one JSON object instead of tables')
    .option('--json-out <file>', 'also write the JSON object to a file');
  cmd.parse(process.argv);
  const o = cmd.opts();
  const seconds = Number(o.seconds);
  const repeats = Number(o.repeats);
  if (!(seconds > 0)) throw new Error(`--seconds must be > 0, got ${o.seconds}`);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer, got ${o.repeats}`);
  const workerCounts = list(o.workers).map(Number);
  if (workerCounts.some((k) => !Number.isInteger(k) || k < 1)) throw new Error(`--workers must list positive integers, got '${o.workers}'`);
  const only = list(o.only);
  const workloads = only.length ? only.map((n) => WORKLOADS.find((w) => w.name === n) ?? fail(`unknown workload '${n}'; known: ${WORKLOADS.map((w) => w.name).join(', ')}`)) : WORKLOADS;

  await initBackend();
  const present = await availableBackends();
  let backends: BackendName[] = o.backends ? (list(o.backends) as BackendName[]) : present.filter((b) => b !== 'cpu' || present.length === 1);
  for (const b of backends) if (!present.includes(b)) throw new Error(`backend '${b}' is not available here (present: ${present.join(', ')})`);
  const log = (s: string) => (o.json ? process.stderr.write(s + '\n') : console.log(s));

  if (o.profile) {
    for (const b of backends) {
      await tf.setBackend(b);
      for (const w of workloads) await profileOne(w, b, log);
    }
    return;
  }

  const maxK = Math.max(...workerCounts);
  let peer: { python: string; script: string; torch: string } | undefined;
  if (o.peer !== false) {
    const script = findPeerScript(o.peer);
    const py = script ? findTorchPython(o.python) : undefined;
    if (script && py) peer = { python: py.python, script, torch: py.torch };
    else log(`(no PyTorch peer: ${script ? 'no python3 with torch found (try --python /usr/bin/python3)' : 'torch_peer.py not found (use --peer FILE)'})`);
  }
  const peerThreads = [...new Set([1, maxK])];

  log(`splitz bench: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, node ${process.version}, backends ${backends.join(', ')}, ${seconds}s x ${repeats} rounds, load ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);

  // Set everything up once (warm-up excluded from every measurement).
  interface Config {
    w: Workload;
    backend: BackendName;
    workers: number;
    runner?: Runner;
    pool?: Pool;
  }
  const configs: Config[] = [];
  const pools = new Map<BackendName, Pool>();
  for (const backend of backends) {
    await tf.setBackend(backend);
    for (const w of workloads) {
      for (const k of workerCounts) {
        if (k > 1 && !w.parallel) continue;
        if (k === 1) {
          const runner = await w.make();
          await warmUp(runner);
          configs.push({ w, backend, workers: 1, runner });
        } else {
          let pool = pools.get(backend);
          if (!pool) {
            pool = await createPool({ workers: maxK, entry: path.join(__dirname, `tasks${path.extname(__filename)}`), backend });
            pools.set(backend, pool);
          }
          configs.push({ w, backend, workers: k, pool });
        }
      }
    }
  }
  for (const c of configs) if (c.pool) await Promise.all(Array.from({ length: c.workers }, (_, i) => c.pool!.runOn(i, 'bench.setup', { name: c.w.name })));

  const timings = new Map<Config, { rate: number; load: number; numTensors: number }[]>();
  const peerRuns: { round: number; load: number; results: PeerResult[] }[] = [];
  for (let round = 0; round < repeats; round++) {
    for (const c of configs) {
      const load = load1();
      let rate: number;
      let numTensors: number;
      if (c.runner) {
        await tf.setBackend(c.backend);
        const t = await timeRunner(c.runner, seconds);
        rate = t.samples / t.elapsed;
        numTensors = t.numTensors;
      } else {
        const ts = await Promise.all(Array.from({ length: c.workers }, (_, i) => c.pool!.runOn<Timing>(i, 'bench.measure', { name: c.w.name, seconds })));
        rate = ts.reduce((a, t) => a + t.samples, 0) / Math.max(...ts.map((t) => t.elapsed));
        numTensors = Math.max(...ts.map((t) => t.numTensors));
      }
      const arr = timings.get(c) ?? [];
      arr.push({ rate, load, numTensors });
      timings.set(c, arr);
      log(`  round ${round + 1}: ${c.w.name} ${c.backend} x${c.workers}: ${fmt(rate)} samples/s (load ${load})`);
    }
    if (peer) {
      for (const th of peerThreads) {
        const load = load1();
        const results = runPeer(peer.python, peer.script, th, seconds);
        peerRuns.push({ round, load, results });
        log(`  round ${round + 1}: torch ${th} thread(s): ${results.map((r) => `${r.workload} ${fmt(r.samples_per_s)}`).join(', ')} (load ${load})`);
      }
    }
  }
  // Bounds: one-thread matmul / conv GFLOP/s and normals/s on both sides, same run.
  const roofline: { side: string; threads: number; load: number; r: Roofline }[] = [];
  for (const backend of backends) {
    await tf.setBackend(backend);
    roofline.push({ side: backend, threads: 1, load: load1(), r: rooflineTf(Math.min(seconds, 2)) });
  }
  if (peer) roofline.push({ side: 'torch', threads: 1, load: load1(), r: rooflineTorch(peer.python, 1, Math.min(seconds, 2)) });
  for (const x of roofline) log(`  bound: ${x.side} ${x.threads} thread: matmul ${x.r.matmul_gflops.toFixed(1)} GFLOP/s, LeNet conv2 ${x.r.conv_gflops.toFixed(1)} GFLOP/s, ${(x.r.normals_per_s / 1e6).toFixed(1)} M normals/s${x.r.training_normals_per_s ? ` (training stream ${(x.r.training_normals_per_s / 1e6).toFixed(1)} M)` : ''} (load ${x.load})`);
  for (const c of configs) c.runner?.dispose();
  for (const p of pools.values()) await p.close();

  const rows: Row[] = configs.map((c) => {
    const t = timings.get(c)!;
    return {
      workload: c.w.name,
      backend: c.backend,
      workers: c.workers,
      samples_per_s: median(t.map((x) => x.rate)),
      repeats: t.map((x) => Math.round(x.rate * 10) / 10),
      load: t.map((x) => x.load),
      numTensors: t.map((x) => x.numTensors),
    };
  });
  const torch: { workload: string; threads: number; samples_per_s: number; repeats: number[]; load: number[] }[] = [];
  if (peer) {
    for (const th of peerThreads) {
      const names = [...new Set(peerRuns.flatMap((r) => r.results.map((x) => x.workload)))];
      for (const name of names) {
        const runs = peerRuns.map((r) => ({ load: r.load, v: r.results.find((x) => x.workload === name && x.threads === th) })).filter((r) => r.v);
        if (!runs.length) continue;
        torch.push({ workload: name, threads: th, samples_per_s: median(runs.map((r) => r.v!.samples_per_s)), repeats: runs.map((r) => r.v!.samples_per_s), load: runs.map((r) => r.load) });
      }
    }
  }
  const torchRate = (name: string | undefined, th: number) => torch.find((t) => t.workload === name && t.threads === th)?.samples_per_s;
  const ratios: Ratio[] = [];
  for (const r of rows) {
    const w = WORKLOADS.find((x) => x.name === r.workload)!;
    for (const th of peerThreads) {
      const t = torchRate(w.peer, th);
      if (t) ratios.push({ workload: r.workload, backend: r.backend, workers: r.workers, torch_threads: th, ratio: r.samples_per_s / t });
    }
  }
  const ratio = (name: string, workers: number, th: number, backend: BackendName = 'wasm') =>
    ratios.find((x) => x.workload === name && x.workers === workers && x.torch_threads === th && x.backend === backend)?.ratio;
  const rate = (name: string, workers: number, backend: BackendName = 'wasm') => rows.find((x) => x.workload === name && x.workers === workers && x.backend === backend)?.samples_per_s;
  // The trainer's step (lib/train/splitz.ts) when measured, else the hand-written eq. 17 step.
  const splitzName = rate('splitz_trainer_lenet_b256', 1) ? 'splitz_trainer_lenet_b256' : 'splitz_lenet_train_b256';
  const splitzCost = rate('lenet_train_b256', 1) && rate(splitzName, 1) ? rate('lenet_train_b256', 1)! / rate(splitzName, 1)! : undefined;
  const goals: Goal[] = [
    { text: 'lenet_train_b256, wasm, 1 worker / torch 1 thread', value: ratio('lenet_train_b256', 1, 1), target: 0.75, kind: 'min' },
    { text: `lenet_fR_noise_samples_b1000, wasm, ${maxK} workers / torch ${maxK} threads`, value: ratio('lenet_fR_noise_samples_b1000', maxK, maxK), target: 1.5, kind: 'min' },
    { text: 'resnet20_train_b128, wasm, 1 worker / torch 1 thread', value: ratio('resnet20_train_b128', 1, 1), target: 0.5, kind: 'min' },
    { text: `resnet20_noise_samples_b500, wasm, ${maxK} workers / torch ${maxK} threads`, value: ratio('resnet20_noise_samples_b500', maxK, maxK), target: 1.0, kind: 'min' },
    { text: `SPLITZ step cost (${splitzName}) / plain noisy step lenet_train_b256 (time per sample, wasm, 1 worker)`, value: splitzCost, target: 2.0, kind: 'max' },
  ];

  const report = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavg_end: os.loadavg() },
    settings: { seconds, repeats, warmup_steps: 2, workers: workerCounts, backends },
    peer: peer ? { python: peer.python, torch: peer.torch, script: peer.script } : null,
    results: rows,
    torch,
    ratios,
    bounds: roofline,
    goals: goals.map((g) => ({ ...g, met: g.value === undefined ? null : g.kind === 'min' ? g.value >= g.target : g.value <= g.target })),
  };
  if (o.jsonOut) require('fs').writeFileSync(o.jsonOut, JSON.stringify(report, null, 2) + '\n');
  if (o.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log('\nworkload                         backend workers  samples/s  (rounds)                     load');
  for (const r of rows) {
    console.log(`${r.workload.padEnd(32)} ${r.backend.padEnd(7)} ${String(r.workers).padStart(7)} ${fmt(r.samples_per_s).padStart(10)}  (${r.repeats.map(fmt).join(', ')})`.padEnd(92) + ` ${r.load.join(' ')}`);
  }
  for (const t of torch) {
    console.log(`${('torch ' + t.workload).padEnd(32)} ${'torch'.padEnd(7)} ${String(t.threads).padStart(7)} ${fmt(t.samples_per_s).padStart(10)}  (${t.repeats.map(fmt).join(', ')})`.padEnd(92) + ` ${t.load.join(' ')}`);
  }
  if (ratios.length) {
    console.log('\nratio splitz / torch (same run):');
    for (const r of ratios) console.log(`  ${r.workload} ${r.backend} x${r.workers} / torch ${r.torch_threads} thread(s): ${r.ratio.toFixed(2)}`);
  }
  if (roofline.length) {
    console.log('\nbounds (1 thread):');
    for (const x of roofline) console.log(`  ${x.side.padEnd(6)} matmul ${x.r.matmul_gflops.toFixed(1).padStart(6)} GFLOP/s   LeNet conv2 fwd ${x.r.conv_gflops.toFixed(1).padStart(6)} GFLOP/s   noise ${(x.r.normals_per_s / 1e6).toFixed(1).padStart(6)} M normals/s${x.r.training_normals_per_s ? ` (training stream ${(x.r.training_normals_per_s / 1e6).toFixed(1)} M)` : ''}`);
  }
  console.log('\ngoals (issue 5):');
  for (const g of report.goals) {
    console.log(`  ${g.met === null ? '  ?' : g.met ? ' ok' : 'NOT'}  ${g.text}: ${g.value === undefined ? 'not measured' : g.value.toFixed(2)} (goal ${g.kind === 'min' ? '>=' : '<='} ${g.target})`);
  }
}

function fail(msg: string): never {
  throw new Error(msg);
}

/** Kernel times of one step (after warm-up), largest first. */
async function profileOne(w: Workload, backend: BackendName, log: (s: string) => void): Promise<void> {
  const r = await w.make();
  await warmUp(r);
  // CPU time of this process too: on a loaded machine wall time mostly measures the load.
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  await r.step();
  const c1 = process.cpuUsage(c0);
  const plainWall = Date.now() - t0;
  const t1 = Date.now();
  const info = await tf.profile(async () => {
    await r.step();
  });
  const wall = Date.now() - t1;
  const byName = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    const e = byName.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.n++;
    byName.set(k.name, e);
  }
  const total = [...byName.values()].reduce((a, e) => a + e.ms, 0);
  log(`\n${w.name} on ${backend}: one step of ${r.batch} samples: ${plainWall} ms wall, ${((c1.user + c1.system) / 1000).toFixed(0)} ms CPU (load ${load1()}); profiled step ${wall} ms wall, kernel sum ${total.toFixed(0)} ms (nested ops counted twice), ${info.newTensors} new tensors`);
  for (const [name, e] of [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) log(`  ${name.padEnd(28)} ${e.ms.toFixed(1).padStart(8)} ms  x${e.n}`);
  r.dispose();
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
