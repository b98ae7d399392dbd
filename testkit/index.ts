/**
 * `scenestream/testkit`: run any pipeline on a virtual clock, as Kafka Streams' TopologyTestDriver
 * and Flink's operator harness do. Push records with explicit timestamps, move event or processing
 * time, read every sink, side output and dead letter; nothing waits on the wall clock.
 */
export { TestDriver, type DriverOptions, type Out } from './driver.js';
export { VirtualClock, type Clock } from '../engine/clock.js';
export { InMemoryStateBackend } from '../engine/state.js';
