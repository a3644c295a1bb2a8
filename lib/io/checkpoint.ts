/**
 * Checkpoints in the standard TensorFlow.js layers layout, written atomically.
 *
 * Without tfjs-node there is no file:// handler (PLATFORM.md), so the model is
 * serialised through `tf.io.withSaveHandler` and written here as
 *   model.json   {modelTopology, format: 'layers-model', weightsManifest: [{paths: ['weights.bin'], weights}]}
 *   weights.bin  all weights, concatenated in manifest order
 * which is exactly what tfjs-node's `model.save('file://dir')` writes, so a
 * checkpoint also loads with `tf.loadLayersModel('file://dir/model.json')`
 * there. splitz adds
 *   meta.json      epoch, config, metrics, seeds, architecture and its layer signature
 *   optimizer.bin  optional optimizer state (Adam's step, m and v), specs in meta.json
 *
 * Atomicity: everything is written into `<dir>.tmp-<pid>` first (each file
 * fsync'ed); then an existing `<dir>` is renamed to `<dir>.old-<pid>`, the new
 * one renamed in, and the old one removed. A crash while writing leaves the
 * previous checkpoint untouched; a crash between the two renames leaves it
 * under `<dir>.old-<pid>`, which `loadCheckpoint` points to in its error.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { NamedTensor } from '@tensorflow/tfjs-core/dist/tensor_types';
import '../models/layers'; // registers ReLUTheta and Normalize for deserialisation
import { ARCH_NAMES, BuildOptions, buildModel } from '../models';
import { LayerSignature, modelSignature, signatureDifference } from '../models/graph';
import { writeFileDurable } from './atomic';

export const CHECKPOINT_FORMAT = 'splitz-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** What meta.json holds. Fields beyond these are kept as given. */
export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** Registry name of the architecture (lib/models), when the model came from buildModel. */
  arch?: string;
  /** Options it was built with (splitAfter, theta, width, ...). */
  archOptions?: BuildOptions;
  epoch?: number;
  /** The resolved experiment config that produced the checkpoint. */
  config?: unknown;
  metrics?: Record<string, unknown>;
  seeds?: Record<string, unknown>;
  /** ISO time of the save. */
  savedAt: string;
  /** Layer classes and weight shapes, to recognise the architecture without building it. */
  signature: LayerSignature[];
  optimizer?: OptimizerStateInfo;
  [extra: string]: unknown;
}

export interface OptimizerStateInfo {
  className: string;
  config: unknown;
  path: string;
  /** Specs of the optimizer's weights in optimizer.bin, in its getWeights() order. */
  weights: tf.io.WeightsManifestEntry[];
}

export interface SaveCheckpointOptions {
  /** Saves its state (for Adam: step count, first and second moments) in optimizer.bin. */
  optimizer?: tf.Optimizer;
}

export interface ExpectedArch {
  arch: string;
  options?: BuildOptions;
}

export interface LoadCheckpointOptions {
  /**
   * The architecture the caller needs. A name is compared with meta.arch; with
   * options, a reference model is built and its layer signature compared too.
   */
  expectArch?: string | ExpectedArch;
  /** Compare the layer signature with this model's. */
  expectModel?: tfl.LayersModel;
}

export interface LoadedCheckpoint {
  model: tfl.LayersModel;
  meta: CheckpointMeta;
  /** Optimizer state for `optimizer.setWeights`, when the checkpoint has one. */
  optimizerWeights?: NamedTensor[];
  /** Directory the checkpoint was read from. */
  dir: string;
}

/** Raised for missing, damaged or mismatched checkpoints: the message says what and where. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

// ---------------------------------------------------------------- writing

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the renames are still atomic.
  }
}

function toBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(Array.isArray(data) ? data : [data]));
}

/** The model.json object of the standard layout, for weights stored in `weightsFile`. */
function modelJsonFor(artifacts: tf.io.ModelArtifacts, weightsFile: string): tf.io.ModelJSON {
  const json: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as object,
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.trainingConfig) json.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata) json.userDefinedMetadata = artifacts.userDefinedMetadata;
  return json;
}

/**
 * Writes model.json + weights.bin into `dir` (which must exist). Not atomic by
 * itself: `saveCheckpoint` calls it on a temporary directory.
 */
export async function writeLayersModel(dir: string, model: tfl.LayersModel): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      writeFileDurable(path.join(dir, 'weights.bin'), toBytes(artifacts.weightData));
      writeFileDurable(path.join(dir, 'model.json'), JSON.stringify(modelJsonFor(artifacts, 'weights.bin')));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

/**
 * Saves `model` with `meta` (epoch, config, metrics, seeds, arch, ...) to
 * directory `dir`, replacing a previous checkpoint there atomically.
 */
export async function saveCheckpoint(
  dir: string,
  model: tfl.LayersModel,
  meta: Record<string, unknown> = {},
  options: SaveCheckpointOptions = {},
): Promise<string> {
  const target = path.resolve(dir);
  if (fs.existsSync(target) && !fs.statSync(target).isDirectory()) {
    throw new CheckpointError(`cannot save checkpoint to ${target}: it exists and is not a directory`);
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    await writeLayersModel(tmp, model);
    const full: CheckpointMeta = {
      ...meta,
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      savedAt: new Date().toISOString(),
      signature: modelSignature(model),
    };
    if (options.optimizer) {
      const named = await options.optimizer.getWeights();
      const { data, specs } = await tf.io.encodeWeights(named);
      writeFileDurable(path.join(tmp, 'optimizer.bin'), toBytes(data));
      full.optimizer = {
        className: options.optimizer.getClassName(),
        config: options.optimizer.getConfig(),
        path: 'optimizer.bin',
        weights: specs,
      };
    }
    writeFileDurable(path.join(tmp, 'meta.json'), JSON.stringify(full, null, 2));
    fsyncDir(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (fs.existsSync(target)) {
    const old = `${target}.old-${process.pid}`;
    fs.rmSync(old, { recursive: true, force: true });
    fs.renameSync(target, old);
    fs.renameSync(tmp, target);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(tmp, target);
  }
  fsyncDir(path.dirname(target));
  return target;
}

// ---------------------------------------------------------------- reading

function leftovers(dir: string): string[] {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  if (!fs.existsSync(parent)) return [];
  return fs
    .readdirSync(parent)
    .filter((f) => f.startsWith(`${base}.old-`))
    .map((f) => path.join(parent, f));
}

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${file}: cannot read ${what}: ${(e as Error).message}`);
  }
}

function readBinary(file: string, what: string): ArrayBuffer {
  if (!fs.existsSync(file)) throw new CheckpointError(`${file} is missing: it holds ${what}`);
  const b = fs.readFileSync(file);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/**
 * A load-only IOHandler for a model.json on disk (any TensorFlow.js layers
 * model, sharded weights included): what tfjs-node's file:// handler does.
 */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  const file = path.resolve(modelJsonPath);
  const dir = path.dirname(file);
  return {
    load: async () => {
      if (!fs.existsSync(file)) throw new CheckpointError(`${file} not found: expected a TensorFlow.js model.json`);
      const json = readJson(file, 'the model topology (model.json)') as tf.io.ModelJSON;
      if (typeof json !== 'object' || json === null || !('modelTopology' in json)) {
        throw new CheckpointError(`${file} is not a TensorFlow.js model.json: it has no modelTopology`);
      }
      const topo = json.modelTopology as Record<string, unknown>;
      if (json.format === 'graph-model' || (topo && 'node' in topo)) {
        throw new CheckpointError(
          `${file} is a TensorFlow.js graph model; splitz needs a layers model (tfjs-layers / Keras), whose layers it can read one by one`,
        );
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest ?? []) {
          for (const p of group.paths) buffers.push(readBinary(path.join(dir, p), `weights listed in ${path.basename(file)}`));
          specs.push(...group.weights);
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

/** Loads a TensorFlow.js layers model from its model.json path, with clear errors for unknown layer classes. */
export async function readLayersModel(modelJsonPath: string): Promise<tfl.LayersModel> {
  try {
    return await tfl.loadLayersModel(fileLoadHandler(modelJsonPath));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const msg = (e as Error).message ?? String(e);
    const unknown = /Unknown layer: (\w+)/.exec(msg);
    if (unknown) {
      throw new CheckpointError(
        `${modelJsonPath} uses layer class '${unknown[1]}', which TensorFlow.js does not know; register it (tf.serialization.registerClass) before loading. splitz registers ReLUTheta and Normalize`,
      );
    }
    throw new CheckpointError(`${modelJsonPath}: cannot load the layers model: ${msg.split('\n')[0]}`);
  }
}

function resolvePaths(dirOrModelJson: string): { dir: string; modelJson: string } {
  const p = path.resolve(dirOrModelJson);
  if (p.endsWith('.json')) return { dir: path.dirname(p), modelJson: p };
  return { dir: p, modelJson: path.join(p, 'model.json') };
}

function describeArch(meta: CheckpointMeta): string {
  const opts = meta.archOptions && Object.keys(meta.archOptions).length ? ` ${JSON.stringify(meta.archOptions)}` : '';
  return meta.arch ? `'${meta.arch}'${opts}` : 'an unnamed architecture';
}

/**
 * Loads a checkpoint written by `saveCheckpoint` from its directory (or its
 * model.json). Missing files and a different architecture than expected are
 * CheckpointErrors that say what was expected and what was found.
 */
export async function loadCheckpoint(dirOrModelJson: string, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const { dir, modelJson } = resolvePaths(dirOrModelJson);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    const left = leftovers(dir);
    const hint = left.length
      ? ` An interrupted save left ${left.join(', ')}: rename it to ${dir} to recover that checkpoint.`
      : ' Train first (it writes a checkpoint every epoch), or check the path.';
    throw new CheckpointError(`no checkpoint at ${dir}: expected a directory with model.json, weights.bin and meta.json written by saveCheckpoint.${hint}`);
  }
  for (const f of [modelJson, path.join(dir, 'meta.json')]) {
    if (!fs.existsSync(f)) {
      throw new CheckpointError(
        `checkpoint ${dir} is incomplete: ${path.basename(f)} is missing (a checkpoint has model.json, weights.bin and meta.json; for a plain TensorFlow.js model use loadUserModel)`,
      );
    }
  }
  const meta = readJson(path.join(dir, 'meta.json'), 'the checkpoint metadata (meta.json)') as CheckpointMeta;
  if (meta?.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${path.join(dir, 'meta.json')} is not splitz checkpoint metadata (format is ${JSON.stringify(meta?.format)}, expected '${CHECKPOINT_FORMAT}')`);
  }

  // Check the architecture from meta.json before reading any weights.
  const expect = typeof options.expectArch === 'string' ? { arch: options.expectArch } : options.expectArch;
  if (expect && meta.arch !== expect.arch) {
    throw new CheckpointError(`checkpoint ${dir} holds ${describeArch(meta)}, but '${expect.arch}' was expected (known architectures: ${ARCH_NAMES.join(', ')})`);
  }
  let expectedSignature: LayerSignature[] | undefined;
  let expectedWhat = '';
  if (expect?.options) {
    const ref = buildModel(expect.arch, expect.options);
    expectedSignature = modelSignature(ref);
    ref.dispose();
    expectedWhat = `'${expect.arch}' ${JSON.stringify(expect.options)}`;
  } else if (options.expectModel) {
    expectedSignature = modelSignature(options.expectModel);
    expectedWhat = `the structure of model '${options.expectModel.name}'`;
  }
  if (expectedSignature && Array.isArray(meta.signature)) {
    const diff = signatureDifference(expectedSignature, meta.signature);
    if (diff) throw new CheckpointError(`checkpoint ${dir} holds ${describeArch(meta)}, which differs from ${expectedWhat}: ${diff}`);
  }

  const model = await readLayersModel(modelJson);
  const found = modelSignature(model);
  if (Array.isArray(meta.signature)) {
    const diff = signatureDifference(meta.signature, found);
    if (diff) {
      model.dispose();
      throw new CheckpointError(`checkpoint ${dir} is inconsistent: model.json does not match the signature in meta.json (${diff})`);
    }
  }
  if (expectedSignature) {
    const diff = signatureDifference(expectedSignature, found);
    if (diff) {
      model.dispose();
      throw new CheckpointError(`checkpoint ${dir} differs from ${expectedWhat}: ${diff}`);
    }
  }

  let optimizerWeights: NamedTensor[] | undefined;
  if (meta.optimizer) {
    const data = readBinary(path.join(dir, meta.optimizer.path), `the ${meta.optimizer.className} optimizer state`);
    const map = tf.io.decodeWeights(data, meta.optimizer.weights);
    optimizerWeights = meta.optimizer.weights.map((s) => ({ name: s.name, tensor: map[s.name] }));
  }
  return { model, meta, optimizerWeights, dir };
}

/** Whether `dir` holds a complete checkpoint (model.json, weights.bin, meta.json). */
export function checkpointExists(dir: string): boolean {
  return ['model.json', 'weights.bin', 'meta.json'].every((f) => fs.existsSync(path.join(dir, f)));
}

/**
 * Loads any user-supplied TensorFlow.js layers model (a model.json and its
 * weight files, e.g. from tensorflowjs_converter or model.save) for the
 * Lipschitz figures. `p` may be the model.json or its directory.
 */
export async function loadUserModel(p: string): Promise<tfl.LayersModel> {
  const { modelJson } = resolvePaths(p);
  if (!fs.existsSync(modelJson)) {
    throw new CheckpointError(`${modelJson} not found: give the path of a TensorFlow.js layers model.json (or its directory), with its weight files beside it`);
  }
  return readLayersModel(modelJson);
}
