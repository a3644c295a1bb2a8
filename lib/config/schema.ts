/**
 * A small strict validator for JSON config files. Strict because a misspelt
 * key (say `sigmma`) silently ignored would run an experiment with a default
 * the user did not choose; every hyperparameter has to come from the file.
 *
 * A spec describes the allowed shape; `validate` returns every problem as
 * "<path>: <what is wrong>; <what is allowed>" so the user can fix a file in
 * one pass. Partial mode (for scale overrides) makes object fields optional.
 */
import { didYouMean } from './suggest';

export type Spec =
  | { type: 'string'; enum?: readonly string[]; nonEmpty?: boolean }
  | { type: 'number'; min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean; integer?: boolean }
  | { type: 'boolean' }
  | { type: 'array'; items: Spec; minItems?: number }
  | ObjectSpec
  | { type: 'tagged'; tag: string; cases: Record<string, ObjectSpec> }
  | { type: 'oneOf'; options: Spec[]; describe: string }
  | { type: 'literal'; value: string | number | boolean }
  /** An object with free keys; `partialValues` checks each value in partial mode (overrides). */
  | { type: 'record'; values: Spec; keyPattern?: RegExp; keyDescribe?: string; partialValues?: boolean };

export interface ObjectSpec {
  type: 'object';
  fields: Record<string, Field>;
}

export interface Field {
  spec: Spec;
  optional?: boolean;
}

/** Where a value sits, for messages: `train.lr_schedule.gamma`, `certify.images`. */
export function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function where(path: string): string {
  return path ? `'${path}'` : 'the top level';
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short human description of what a spec accepts. */
export function describeSpec(spec: Spec): string {
  switch (spec.type) {
    case 'string':
      return spec.enum ? `one of ${spec.enum.map((e) => `'${e}'`).join(', ')}` : 'a string';
    case 'number': {
      const kind = spec.integer ? 'an integer' : 'a number';
      const lo = spec.min !== undefined ? `${spec.exclusiveMin ? '>' : '>='} ${spec.min}` : '';
      const hi = spec.max !== undefined ? `${spec.exclusiveMax ? '<' : '<='} ${spec.max}` : '';
      return [kind, [lo, hi].filter(Boolean).join(' and ')].filter(Boolean).join(' ');
    }
    case 'boolean':
      return 'true or false';
    case 'array':
      return `an array of ${describeSpec(spec.items)}`;
    case 'object':
      return `an object with keys ${Object.keys(spec.fields).join(', ')}`;
    case 'tagged':
      return `an object with ${spec.tag} one of ${Object.keys(spec.cases).map((c) => `'${c}'`).join(', ')}`;
    case 'oneOf':
      return spec.describe;
    case 'literal':
      return JSON.stringify(spec.value);
    case 'record':
      return `an object of ${describeSpec(spec.values)}`;
  }
}

/**
 * Every problem of `value` against `spec`, as messages. `partial` makes the
 * fields of (nested) plain objects optional: scale overrides give only what
 * they change. Tagged unions and one-of values are always checked whole,
 * because an override replaces them whole.
 */
export function validate(value: unknown, spec: Spec, path = '', partial = false): string[] {
  switch (spec.type) {
    case 'string': {
      if (typeof value !== 'string') return [`${where(path)} must be ${describeSpec(spec)}, got ${typeName(value)}`];
      if (spec.nonEmpty && value.trim() === '') return [`${where(path)} must not be empty`];
      if (spec.enum && !spec.enum.includes(value)) {
        return [`${where(path)} is '${value}'${didYouMean(value, spec.enum)}; allowed: ${spec.enum.map((e) => `'${e}'`).join(', ')}`];
      }
      return [];
    }
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return [`${where(path)} must be ${describeSpec(spec)}, got ${typeName(value)}`];
      const bad =
        (spec.integer && !Number.isInteger(value)) ||
        (spec.min !== undefined && (spec.exclusiveMin ? value <= spec.min : value < spec.min)) ||
        (spec.max !== undefined && (spec.exclusiveMax ? value >= spec.max : value > spec.max));
      return bad ? [`${where(path)} must be ${describeSpec(spec)}, got ${value}`] : [];
    }
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${where(path)} must be true or false, got ${typeName(value)}`];
    case 'literal':
      return value === spec.value ? [] : [`${where(path)} must be ${JSON.stringify(spec.value)}, got ${typeName(value)}`];
    case 'array': {
      if (!Array.isArray(value)) return [`${where(path)} must be ${describeSpec(spec)}, got ${typeName(value)}`];
      if (spec.minItems !== undefined && value.length < spec.minItems) return [`${where(path)} needs at least ${spec.minItems} item(s)`];
      return value.flatMap((v, i) => validate(v, spec.items, joinPath(path, i), partial));
    }
    case 'object':
      return validateObject(value, spec, path, partial);
    case 'record': {
      if (!isPlainObject(value)) return [`${where(path)} must be ${describeSpec(spec)}, got ${typeName(value)}`];
      return Object.entries(value).flatMap(([k, v]) => {
        if (spec.keyPattern && !spec.keyPattern.test(k)) return [`${where(joinPath(path, k))}: the name must be ${spec.keyDescribe ?? spec.keyPattern}`];
        return validate(v, spec.values, joinPath(path, k), partial || spec.partialValues === true);
      });
    }
    case 'tagged': {
      if (!isPlainObject(value)) return [`${where(path)} must be ${describeSpec(spec)}, got ${typeName(value)}`];
      const tag = value[spec.tag];
      const cases = Object.keys(spec.cases);
      if (typeof tag !== 'string' || !(tag in spec.cases)) {
        const hint = typeof tag === 'string' ? didYouMean(tag, cases) : '';
        return [`${where(joinPath(path, spec.tag))} is ${tag === undefined ? 'missing' : typeName(tag)}${hint}; allowed: ${cases.map((c) => `'${c}'`).join(', ')}`];
      }
      const c = spec.cases[tag];
      const withTag: ObjectSpec = { type: 'object', fields: { [spec.tag]: { spec: { type: 'literal', value: tag } }, ...c.fields } };
      return validateObject(value, withTag, path, false);
    }
    case 'oneOf': {
      // Pick the option that fits best: an object option whose keys the value uses, else the first with no errors.
      let best: string[] | undefined;
      for (const option of spec.options) {
        const errs = validate(value, option, path, false);
        if (errs.length === 0) return [];
        const sameKind = option.type === 'object' && isPlainObject(value) && Object.keys(value).some((k) => k in option.fields);
        if (sameKind && (best === undefined || errs.length < best.length)) best = errs;
      }
      return best ?? [`${where(path)} must be ${spec.describe}, got ${typeName(value)}`];
    }
  }
}

function validateObject(value: unknown, spec: ObjectSpec, path: string, partial: boolean): string[] {
  if (!isPlainObject(value)) return [`${where(path)} must be an object, got ${typeName(value)}`];
  const allowed = Object.keys(spec.fields);
  const errors: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const field = spec.fields[k];
    if (!field) {
      errors.push(`unknown key '${k}' in ${where(path)}${didYouMean(k, allowed)}; allowed keys: ${allowed.join(', ')}`);
      continue;
    }
    errors.push(...validate(v, field.spec, joinPath(path, k), partial));
  }
  if (!partial) {
    for (const [k, field] of Object.entries(spec.fields)) {
      if (!field.optional && !(k in value)) errors.push(`${where(joinPath(path, k))} is missing: it must be ${describeSpec(field.spec)}`);
    }
  }
  return errors;
}

/**
 * `base` with `override` laid over it: plain-object fields of the spec merge
 * key by key, everything else (numbers, arrays, tagged unions such as a
 * learning-rate schedule) is replaced whole.
 */
export function mergeBySpec(base: unknown, override: unknown, spec: Spec): unknown {
  if (spec.type !== 'object' || !isPlainObject(base) || !isPlainObject(override)) return structuredClone(override);
  const out: Record<string, unknown> = { ...structuredClone(base) };
  for (const [k, v] of Object.entries(override)) {
    const field = spec.fields[k];
    out[k] = field && k in out ? mergeBySpec(out[k], v, field.spec) : structuredClone(v);
  }
  return out;
}
