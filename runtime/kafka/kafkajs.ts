/**
 * kafkajs, as the product's modules import it: every value import of kafkajs in `runtime/` goes
 * through this module, which loads `./linearGrouping.ts` before kafkajs itself (ES modules evaluate
 * their imports in order), so that kafkajs' producer groups messages in linear time, and
 * `./quietRequestQueue.ts`, so that an idle connection does not wake the process every 1 ms. Type-only
 * imports may name kafkajs directly: they load nothing. The simulator, a layer below, imports
 * kafkajs only when it produces (a dynamic import, after the program's runtime has loaded this).
 * `kafkajs.test.ts` checks all three, and the CLI's process as a whole.
 */
import './linearGrouping.js';
import './quietRequestQueue.js';
import kafkajs from 'kafkajs';

export { Kafka, logLevel, Partitioners } from 'kafkajs';
export const { AssignerProtocol } = kafkajs;
export { linearGroupingInstalled } from './linearGrouping.js';
export { quietRequestQueueInstalled } from './quietRequestQueue.js';
