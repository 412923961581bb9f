/** Shared test helpers (private workspace, never published): one of each. */
export * from './databases.js';
export * from './hostile-bundles.js';
export * from './keys.js';
export * from './legacy-fixtures.js';
export * from './open.js';
export * from './refusals.js';
export * from './softhsm.js';
export * from './store-fingerprint.js';
export * from './tools.js';
