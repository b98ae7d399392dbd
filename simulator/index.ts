/**
 * The simulator's programmatic API: a seeded world (`generateWorld`), its life as a stream of
 * clickstream, pos and location records in ts order (`generateEvents`, with purchase histories on
 * request), customers who respond to offers (`respondingEvents`), the writers, and `simulate` to
 * do it all as the command line does. The dataset loaders are in `./datasets/`.
 */
export { generateWorld, DEFAULT_WORLD_OPTIONS, type World, type WorldOptions, type SimCustomer, type TravelMode } from './world.js';
export { generateEvents, worldStartMs, type EventOptions, type SimRecord, type SimTopic } from './life.js';
export { purchaseHistory, type ValueClass } from './history.js';
export { respondingEvents, planResponses, decideInProcess, mergeResponses, resolveEffects, DEFAULT_RESPONSE_EFFECTS, type RespondOptions, type ResponseEffects, type ResponsePlan, type SceneResponse, type EngineDecisions, type RespondingEvents } from './respond.js';
export { simulate, type SimulateOptions, type SimulateResult } from './simulate.js';
export { recordToJsonLine, storesToJson, profilesToJsonl, writeJsonl, TOPIC_SCHEMAS } from './jsonl.js';
export { produceToKafka, sendPaced, toKafkaMessage, recordKey, resolveTopics, DEFAULT_TOPICS, type KafkaOptions, type SendOptions, type SendSummary, type BatchProducer } from './kafka.js';
export { pacerConfig, startPacer, nextBatch, type PacerConfig, type PacerState, type PacerStep } from './pacing.js';
export { createRng, type Rng } from './prng.js';
export * from './datasets/index.js';
