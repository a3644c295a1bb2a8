/** Figures and tables: image grids, Vega-Lite charts rendered to SVG/PNG, CSV and HTML tables. */
export * from './image';
export * from './render';
export * from './charts';
export * from './literature';
export * from './tables';
export * from './claims';
export * from './figures';
export * from './quick';
export * from './lipschitz-nets';
export * from './base-classifier';
export * from './published-checkpoints';
export * from './split-signal';
export * from './noise-through-split';
export * from './bound-tightness';
export * from './headline';
