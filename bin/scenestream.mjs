#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx scenestream ...` works from a checkout with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../runtime/cli.ts');
process.exit(await main(process.argv.slice(2)));
