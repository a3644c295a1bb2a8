/**
 * The split of a classifier f = f_R ∘ f_L (METHOD.md, "Objects").
 *
 * `splitModel(model, s)` cuts a sequential model after its s-th affine layer
 * (conv or dense) and the ReLU_theta that follows it:
 *
 *   f_L = Normalize, affine_1, ReLU_theta, [max-pool | flatten]*, affine_2, ReLU_theta, ..., affine_s, ReLU_theta
 *   f_R = everything after.
 *
 * s = 0 is plain randomized smoothing: f_L is the identity (L = 1) and the
 * Normalize layer belongs to f_R, so that noise is added in raw pixel space.
 *
 * f_L may only contain layers whose local Lipschitz bound the library can
 * compute (lib/lipschitz): Normalize (first), Conv2D / Dense with a linear
 * activation, ReLUTheta after each of them, Flatten, and MaxPooling2D with
 * non-overlapping windows (strides >= pool size). Max-pooling with disjoint
 * windows is 1-Lipschitz in l2 (|max a - max b| <= max |a - b| per window, and
 * windows share no input) and interval propagation through it is monotone
 * (max of lower bounds, max of upper bounds), so LeNet split after its second
 * conv keeps the first max-pool in f_L. Overlapping pools are refused: their
 * l2 Lipschitz constant exceeds 1. Batch normalization is refused rather than
 * folded: none of the project's split models has one inside f_L.
 *
 * The last affine layer of f_L must be followed by a ReLU_theta, except when
 * it is the model's last layer (f_R = identity, as in the two-layer toy
 * network of Appendix B); then no output mask applies to it.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Normalize, ReLUTheta } from './layers';
import { rightModel, splitShape as graphSplitShape } from './graph';

function shapeOfOp(op: LeftOp): number[] {
  switch (op.kind) {
    case 'normalize':
      return op.shape.slice();
    case 'relu_theta':
      return op.shape.slice();
    case 'conv':
    case 'maxpool':
      return op.outShape.slice();
    case 'dense':
      return [op.outSize];
    case 'flatten':
      return [op.outSize];
  }
}

/** One layer of f_L, described with the shapes and settings the bound code needs (shapes exclude the batch). */
export type LeftOp =
  | { kind: 'normalize'; layer: Normalize; shape: number[]; mean: number[]; std: number[] }
  | {
      kind: 'conv';
      layer: tfl.layers.Layer;
      inShape: [number, number, number];
      outShape: [number, number, number];
      kernelSize: [number, number];
      strides: [number, number];
      padding: 'valid' | 'same';
      /** Padding before the first row / column (TensorFlow's 'same' rule). */
      padTop: number;
      padLeft: number;
      useBias: boolean;
      /** Index of this affine layer within f_L, 1-based (W_1, W_2, ...). */
      affineIndex: number;
    }
  | { kind: 'dense'; layer: tfl.layers.Layer; inSize: number; outSize: number; useBias: boolean; affineIndex: number }
  | { kind: 'relu_theta'; layer: ReLUTheta; theta: number; shape: number[] }
  | {
      kind: 'maxpool';
      layer: tfl.layers.Layer;
      inShape: [number, number, number];
      outShape: [number, number, number];
      poolSize: [number, number];
      strides: [number, number];
      padding: 'valid' | 'same';
      padTop: number;
      padLeft: number;
    }
  | { kind: 'flatten'; layer: tfl.layers.Layer; inShape: number[]; outSize: number };

export interface SplitModel {
  /** Number of affine layers in f_L (0 = plain RS). */
  s: number;
  /** Index into `model.layers` (InputLayer excluded) of the first layer of f_R. */
  splitIndex: number;
  leftLayers: tfl.layers.Layer[];
  rightLayers: tfl.layers.Layer[];
  /** The Normalize layer at the start of f_L; undefined for s = 0 or a model without one. */
  normalize: Normalize | undefined;
  /** f_L's layers as the bound code sees them (empty for s = 0). */
  leftOps: LeftOp[];
  /** True when f_L's last affine layer is followed by ReLU_theta (its mask I_s enters the bound). */
  endsWithReLUTheta: boolean;
  /** Shape of one input x (no batch). */
  inputShape: number[];
  /** Shape of one f_L(x) (no batch): where the noise delta is added. */
  splitShape: number[];
  /** f_L on a batch (input shape with batch first). Caller disposes the result. */
  fL(x: tf.Tensor): tf.Tensor;
  /** f_R on a batch of split-space points u = f_L(x) + delta. Caller disposes the result. */
  fR(u: tf.Tensor): tf.Tensor;
  model: tfl.LayersModel;
}

/** Raised when a model cannot be cut at the requested place; the message says why. */
export class SplitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SplitError';
  }
}

const AFFINE = new Set(['Conv2D', 'Dense']);

function pair(v: unknown, what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number')) return [v[0], v[1]];
  throw new SplitError(`${what}: expected a number or a pair of numbers, got ${JSON.stringify(v)}`);
}

function shapeOf(s: tfl.Shape | tfl.Shape[], what: string): number[] {
  const one = (Array.isArray(s[0]) ? (s as tfl.Shape[])[0] : s) as tfl.Shape;
  const rest = one.slice(1);
  if (rest.some((d) => d === null)) throw new SplitError(`${what}: shape ${JSON.stringify(one)} has unknown dimensions; build the model with a fixed input shape`);
  return rest as number[];
}

/** TensorFlow's padding before the data for 'same' (pad_total split floor/ceil). */
export function samePadBefore(size: number, kernel: number, stride: number): number {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return Math.floor(total / 2);
}

/** The layers of a model in execution (topological) order, InputLayer excluded. */
export function sequentialLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  return model.layers.filter((l) => l.getClassName() !== 'InputLayer');
}

/**
 * Describe one layer for the bound code. `allowActivation` lets global per-layer
 * norms read the affine part of a conv/dense layer that has a built-in activation.
 */
export function describeLayer(l: tfl.layers.Layer, index: number, affineIndex: number, allowActivation = false): LeftOp {
  const cls = l.getClassName();
  const cfg = l.getConfig() as Record<string, unknown>;
  const where = `layer ${index} '${l.name}' (${cls})`;
  // The layer's first inbound node is its use in the model it was built in
  // (f_R models built for graph splits add further nodes to later layers).
  const node = l.inboundNodes[0];
  if (!node || node.inputTensors.length !== 1) throw new SplitError(`${where} must take exactly one input to be part of f_L`);
  const inS = shapeOf(node.inputTensors[0].shape as tfl.Shape, where);
  const outS = shapeOf(node.outputTensors[0].shape as tfl.Shape, where);
  if (cls === 'Normalize') {
    const n = l as Normalize;
    return { kind: 'normalize', layer: n, shape: inS, mean: n.mean.slice(), std: n.std.slice() };
  }
  if (cls === 'ReLUTheta') {
    const r = l as ReLUTheta;
    return { kind: 'relu_theta', layer: r, theta: r.theta, shape: inS };
  }
  if (cls === 'Flatten') {
    return { kind: 'flatten', layer: l, inShape: inS, outSize: outS.reduce((a, b) => a * b, 1) };
  }
  if (AFFINE.has(cls)) {
    const act = cfg.activation ?? 'linear';
    if (act !== 'linear' && !allowActivation) {
      throw new SplitError(`${where} has the built-in activation '${String(act)}': f_L needs each affine layer followed by a separate ReLUTheta layer (use activation 'linear' and add ReLUTheta)`);
    }
    const useBias = cfg.useBias !== false;
    if (cls === 'Dense') {
      if (inS.length !== 1) throw new SplitError(`${where}: a dense layer in f_L must take a flat vector (add a Flatten), got input shape [${inS}]`);
      return { kind: 'dense', layer: l, inSize: inS[0], outSize: outS[0], useBias, affineIndex };
    }
    if ((cfg.dataFormat ?? 'channelsLast') !== 'channelsLast') throw new SplitError(`${where}: only channelsLast convolutions are supported in f_L`);
    const dil = pair(cfg.dilationRate ?? 1, `${where} dilationRate`);
    if (dil[0] !== 1 || dil[1] !== 1) throw new SplitError(`${where}: dilated convolutions are not supported in f_L`);
    const padding = cfg.padding as string;
    if (padding !== 'valid' && padding !== 'same') throw new SplitError(`${where}: padding '${padding}' is not supported in f_L (use 'valid' or 'same')`);
    const kernelSize = pair(cfg.kernelSize, `${where} kernelSize`);
    const strides = pair(cfg.strides ?? 1, `${where} strides`);
    const inShape = inS as [number, number, number];
    return {
      kind: 'conv',
      layer: l,
      inShape,
      outShape: outS as [number, number, number],
      kernelSize,
      strides,
      padding,
      padTop: padding === 'same' ? samePadBefore(inShape[0], kernelSize[0], strides[0]) : 0,
      padLeft: padding === 'same' ? samePadBefore(inShape[1], kernelSize[1], strides[1]) : 0,
      useBias,
      affineIndex,
    };
  }
  if (cls === 'MaxPooling2D') {
    const poolSize = pair(cfg.poolSize, `${where} poolSize`);
    const strides = pair(cfg.strides ?? cfg.poolSize, `${where} strides`);
    if (strides[0] < poolSize[0] || strides[1] < poolSize[1]) {
      throw new SplitError(`${where}: overlapping max-pool windows (strides [${strides}] < poolSize [${poolSize}]) are not 1-Lipschitz in l2, so f_L cannot contain this layer; split before it`);
    }
    if ((cfg.dataFormat ?? 'channelsLast') !== 'channelsLast') throw new SplitError(`${where}: only channelsLast pooling is supported in f_L`);
    const padding = cfg.padding as string;
    if (padding !== 'valid' && padding !== 'same') throw new SplitError(`${where}: padding '${padding}' is not supported in f_L`);
    const inShape = inS as [number, number, number];
    return {
      kind: 'maxpool',
      padding,
      layer: l,
      inShape,
      outShape: outS as [number, number, number],
      poolSize,
      strides,
      padTop: padding === 'same' ? samePadBefore(inShape[0], poolSize[0], strides[0]) : 0,
      padLeft: padding === 'same' ? samePadBefore(inShape[1], poolSize[1], strides[1]) : 0,
    };
  }
  throw new SplitError(
    `${where} cannot be part of f_L: f_L may contain only Normalize, Conv2D/Dense (linear activation), ReLUTheta, Flatten and non-overlapping MaxPooling2D, because the local Lipschitz bound (eq. 18) is defined for those. Choose a smaller s.`,
  );
}

function applyLayers(layers: tfl.layers.Layer[], x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    let h = x;
    for (const l of layers) h = l.apply(h, { training: false }) as tf.Tensor;
    // A tidy cannot return its own input; copy so the caller may always dispose the result.
    return h === x ? tf.clone(x) : h;
  });
}

/**
 * Cut `model` after its s-th affine layer (and the ReLU_theta after it).
 * Applying fR(fL(x)) equals model.predict(x) (same layers, same order).
 */
export function splitModel(model: tfl.LayersModel, s: number): SplitModel {
  if (!Number.isInteger(s) || s < 0) throw new SplitError(`splitModel: s must be a non-negative integer (number of affine layers in f_L), got ${s}`);
  const layers = sequentialLayers(model);
  const inputShape = shapeOf(model.inputs[0].shape as tfl.Shape, 'model input');
  const nAffine = layers.filter((l) => AFFINE.has(l.getClassName())).length;
  if (s > nAffine) throw new SplitError(`splitModel: s = ${s} but the model has only ${nAffine} affine (conv/dense) layers`);

  let splitIndex = 0;
  let endsWithReLUTheta = false;
  if (s > 0) {
    let count = 0;
    let i = 0;
    for (; i < layers.length; i++) {
      if (AFFINE.has(layers[i].getClassName())) {
        count++;
        if (count === s) break;
      }
    }
    const next = layers[i + 1];
    if (next === undefined) {
      splitIndex = i + 1; // f_R = identity (whole model is f_L)
    } else if (next.getClassName() === 'ReLUTheta') {
      splitIndex = i + 2;
      endsWithReLUTheta = true;
    } else {
      throw new SplitError(
        `splitModel: cannot split after affine layer ${s} ('${layers[i].name}'): it is followed by ${next.getClassName()} '${next.name}', not by ReLUTheta. SPLITZ needs the clipped ReLU there (Appendix B); build the model with ReLUTheta after the first ${s} affine layers (e.g. lenet({ splitAfter: ${s} })).`,
      );
    }
  }
  const leftLayers = layers.slice(0, splitIndex);
  const rightLayers = layers.slice(splitIndex);

  const leftOps: LeftOp[] = [];
  let affineCount = 0;
  leftLayers.forEach((l, i) => {
    const isAffine = AFFINE.has(l.getClassName());
    if (isAffine) affineCount++;
    const op = describeLayer(l, i, affineCount);
    if (op.kind === 'normalize' && i !== 0) throw new SplitError(`splitModel: Normalize layer '${l.name}' must be the first layer of f_L (it is layer ${i})`);
    leftOps.push(op);
  });
  // Every affine layer except possibly a model-final one must be followed by ReLU_theta.
  leftOps.forEach((op, i) => {
    if ((op.kind === 'conv' || op.kind === 'dense') && i + 1 < leftOps.length && leftOps[i + 1].kind !== 'relu_theta') {
      throw new SplitError(`splitModel: affine layer '${op.layer.name}' in f_L is followed by ${leftOps[i + 1].layer.getClassName()}, not ReLUTheta; every affine layer of f_L needs its own ReLUTheta`);
    }
  });
  if (s > 0 && leftOps[0].kind !== 'normalize' && leftOps[0].kind !== 'conv' && leftOps[0].kind !== 'dense' && leftOps[0].kind !== 'flatten') {
    throw new SplitError(`splitModel: f_L must start with Normalize or an affine layer, not ${leftOps[0].layer.getClassName()}`);
  }

  const normalize = leftOps.length > 0 && leftOps[0].kind === 'normalize' ? (leftOps[0].layer as Normalize) : undefined;
  let fRModel: tfl.LayersModel | undefined;
  let splitShape: number[];
  if (model instanceof tfl.Sequential) {
    splitShape = s === 0 ? inputShape.slice() : leftOps.length ? shapeOfOp(leftOps[leftOps.length - 1]) : inputShape.slice();
  } else {
    // Graph models (ResNets): f_L must be a chain (checked by graph.ts), f_R may be any graph
    // that reads nothing from before the split; it is rebuilt on a new input with shared layers.
    try {
      splitShape = graphSplitShape(model, splitIndex);
      fRModel = splitIndex === 0 ? model : rightModel(model, splitIndex);
    } catch (e) {
      throw new SplitError(`splitModel: ${(e as Error).message}`);
    }
  }
  const fRm = fRModel;
  return {
    s,
    splitIndex,
    leftLayers,
    rightLayers,
    normalize,
    leftOps,
    endsWithReLUTheta,
    inputShape,
    splitShape,
    fL: (x) => applyLayers(leftLayers, x),
    fR: (u) => (fRm ? tf.tidy(() => fRm.apply(u, { training: false }) as tf.Tensor) : applyLayers(rightLayers, u)),
    model,
  };
}
