/**
 * The contracts of scenestream: the TypeScript types generated from `schemas/*.avsc`.
 * Import from here, never from `types.generated.ts` directly.
 */
export * from './types.generated.js';
