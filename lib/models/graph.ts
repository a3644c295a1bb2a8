/**
 * Cutting a layers model at a split s into f_L and f_R when the model is a
 * graph (ResNets, SqueezeNet), plus a structural signature used to tell
 * architectures apart when loading checkpoints.
 *
 * A split s counts the model's layers WITHOUT its InputLayer (the convention
 * of tfl.Sequential's `layers`), so the first s layers are f_L. They must form
 * a chain; everything after them may be any graph, as long as it reads
 * nothing computed before the split except the split tensor itself.
 *
 * f_R is rebuilt on a new Input of the split shape by applying the SAME layer
 * objects again, so it shares its weights with the model (training f_R
 * trains the model) and f_R(f_L(x)) equals model.predict(x) exactly.
 */
import * as tfl from '@tensorflow/tfjs-layers';

type ST = tfl.SymbolicTensor;
type Layer = tfl.layers.Layer;
type GraphNode = Layer['inboundNodes'][number];

/** The model's layers without the InputLayer, in topological order. */
export function modelLayers(model: tfl.LayersModel): Layer[] {
  return model.layers.filter((l) => l.getClassName() !== 'InputLayer');
}

/**
 * For each layer, the node through which it takes part in THIS model (a layer
 * reused in another model, such as an f_R built here, has further nodes).
 */
function ownNodes(model: tfl.LayersModel): Map<Layer, GraphNode> {
  const produced = new Set<number>(model.inputs.map((t) => t.id));
  const nodes = new Map<Layer, GraphNode>();
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const node = layer.inboundNodes.find((n) => n.inputTensors.length > 0 && n.inputTensors.every((t) => produced.has(t.id)));
    if (!node) throw new Error(`layer '${layer.name}' of model '${model.name}' has no input computed inside the model; cannot walk its graph`);
    nodes.set(layer, node);
    for (const t of node.outputTensors) produced.add(t.id);
  }
  return nodes;
}

function checkSplitIndex(model: tfl.LayersModel, s: number): Layer[] {
  const layers = modelLayers(model);
  if (!Number.isInteger(s) || s < 0 || s > layers.length) {
    throw new Error(`split index must be an integer in 0..${layers.length} (layers of '${model.name}' without its InputLayer), got ${s}`);
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`model '${model.name}' has ${model.inputs.length} inputs and ${model.outputs.length} outputs; a split needs exactly one of each`);
  }
  return layers;
}

/** The symbolic tensor at the split: the output of layer s-1 (the model input when s = 0). */
function splitTensor(model: tfl.LayersModel, s: number): { tensor: ST; nodes: Map<Layer, GraphNode>; layers: Layer[] } {
  const layers = checkSplitIndex(model, s);
  const nodes = ownNodes(model);
  let prev: ST = model.inputs[0];
  for (let i = 0; i < s; i++) {
    const node = nodes.get(layers[i])!;
    if (node.inputTensors.length !== 1 || node.inputTensors[0].id !== prev.id || node.outputTensors.length !== 1) {
      throw new Error(
        `cannot split '${model.name}' after layer ${s}: f_L must be a chain, but layer ${i} ('${layers[i].name}') does not take exactly the previous layer's output`,
      );
    }
    prev = node.outputTensors[0];
  }
  return { tensor: prev, nodes, layers };
}

/** Shape of one sample at the split (without the batch dimension). */
export function splitShape(model: tfl.LayersModel, s: number): number[] {
  return splitTensor(model, s).tensor.shape.slice(1) as number[];
}

/** f_L as a model: the first s layers (s >= 1). Shares weights with `model`. */
export function leftModel(model: tfl.LayersModel, s: number): tfl.LayersModel {
  if (s === 0) throw new Error('leftModel: with split 0, f_L is the identity (plain randomized smoothing); there is no model to build');
  const { tensor } = splitTensor(model, s);
  return tfl.model({ inputs: model.inputs[0], outputs: tensor, name: `${model.name}_fL${s}` });
}

/**
 * f_R as a model on a new Input of the split shape: the layers after the first
 * s, re-applied (same objects, shared weights) in the model's topological order.
 */
export function rightModel(model: tfl.LayersModel, s: number): tfl.LayersModel {
  const { tensor, nodes, layers } = splitTensor(model, s);
  const input = tfl.input({ shape: tensor.shape.slice(1) as number[], name: `${model.name}_split${s}_input` });
  const mapped = new Map<number, ST>([[tensor.id, input]]);
  for (const layer of layers.slice(s)) {
    const node = nodes.get(layer)!;
    const inputs = node.inputTensors.map((t) => {
      const m = mapped.get(t.id);
      if (!m) {
        throw new Error(
          `cannot split '${model.name}' after layer ${s}: layer '${layer.name}' reads a tensor computed before the split (a skip connection across it)`,
        );
      }
      return m;
    });
    const out = layer.apply(inputs.length === 1 ? inputs[0] : inputs) as ST | ST[];
    const outs = Array.isArray(out) ? out : [out];
    node.outputTensors.forEach((t, i) => mapped.set(t.id, outs[i]));
  }
  const output = mapped.get(model.outputs[0].id);
  if (!output) throw new Error(`rightModel: the output of '${model.name}' was not reached from the split; is layer ${s} on the path?`);
  return tfl.model({ inputs: input, outputs: output, name: `${model.name}_fR${s}` });
}

/** One layer of a structural signature: class, non-default config that shapes it, weight shapes. */
export interface LayerSignature {
  className: string;
  weightShapes: number[][];
  /** Clip level, for ReLUTheta only: part of what f_L computes. */
  theta?: number;
}

/** Layer classes and weight shapes in order: equal signatures mean the same architecture. */
export function modelSignature(model: tfl.LayersModel): LayerSignature[] {
  return modelLayers(model).map((l) => {
    const sig: LayerSignature = { className: l.getClassName(), weightShapes: l.weights.map((w) => w.shape.slice() as number[]) };
    if (sig.className === 'ReLUTheta') sig.theta = (l.getConfig() as { theta?: number }).theta;
    return sig;
  });
}

/** First difference between two signatures, as a sentence; undefined when they match. */
export function signatureDifference(expected: LayerSignature[], found: LayerSignature[]): string | undefined {
  const fmt = (s: LayerSignature) => `${s.className}${s.weightShapes.length ? ` [${s.weightShapes.map((w) => w.join('x')).join(', ')}]` : ''}${s.theta !== undefined ? ` theta=${s.theta}` : ''}`;
  const n = Math.min(expected.length, found.length);
  for (let i = 0; i < n; i++) {
    if (fmt(expected[i]) !== fmt(found[i])) return `layer ${i}: expected ${fmt(expected[i])}, found ${fmt(found[i])}`;
  }
  if (expected.length !== found.length) return `expected ${expected.length} layers, found ${found.length}`;
  return undefined;
}
