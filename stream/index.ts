/**
 * `scenestream`: the public API for writing pipelines. Everything a user needs to build, validate and
 * describe a pipeline: the fluent streams, every operator and window spec, the clock, the state and
 * graph types an operator author sees, and the one error catalogue. Run a pipeline with
 * `scenestream/testkit` (virtual time) or `scenestream/runtime` (Kafka and Redis).
 */

export {
  pipeline,
  Pipeline,
  Stream,
  KeyedStream,
  WindowedStream,
  WindowResultStream,
  SessionWindowedStream,
  SessionResultStream,
} from './stream.js';

// Operators, one per file, each with its semantics in TSDoc.
export { aggregate, type AggregateOptions } from '../operators/aggregate.js';
export { branch, OTHERWISE, type Branches, type BranchTypes } from '../operators/branch.js';
export { count } from '../operators/count.js';
export { dedupe, type DedupeOptions } from '../operators/dedupe.js';
export { enrichFromChangelog } from '../operators/enrichFromChangelog.js';
export { enrichFromTable, type EnrichJoinType, type EnrichOptions, type EnrichValue, type ReferenceTable } from '../operators/enrichFromTable.js';
export { eventTimeOrder, type EventTimeOrder, type EventTimeOrderOptions } from '../operators/eventTimeOrder.js';
export { filter } from '../operators/filter.js';
export { flatMap } from '../operators/flatMap.js';
export { followedBy, type FollowedBy, type FollowedByOptions } from '../operators/followedBy.js';
export { geofence, type GeofenceHit, type GeofenceOptions } from '../operators/geofence.js';
export { hoppingWindow, type HoppingWindowOptions } from '../operators/hoppingWindow.js';
export { intervalJoin, type IntervalJoinOptions, type JoinLeft, type JoinRight, type JoinType } from '../operators/intervalJoin.js';
export { keyBy } from '../operators/keyBy.js';
export { keyedProcess, type KeyedProcessOptions, type KeyedProcessor, type ProcessContext, type StateFactory } from '../operators/keyedProcess.js';
export { map, type StepOptions } from '../operators/map.js';
export { merge } from '../operators/merge.js';
export { notFollowedBy, type Absence, type NotFollowedByOptions } from '../operators/notFollowedBy.js';
export { pattern, type PatternOptions } from '../operators/pattern.js';
export { rateLimit, type RateLimitOptions } from '../operators/rateLimit.js';
export { reduce } from '../operators/reduce.js';
export { sessionWindow, SESSION_RETRACTIONS, type SessionWindowOptions } from '../operators/sessionWindow.js';
export { slidingWindow, type SlidingWindowOptions } from '../operators/slidingWindow.js';
export { tumblingWindow, type TumblingWindowOptions } from '../operators/tumblingWindow.js';

// Engine types a pipeline or an operator author meets.
export { systemClock, VirtualClock, type Clock } from '../engine/clock.js';
export { CircleIndex, haversineM, EARTH_RADIUS_M, type Circle, type CircleHit, type CircleIndexOptions } from '../engine/geo.js';
export type { Emit, OperatorDef, OperatorInstance, OperatorRuntime, PipelineDescription, PipelineGraph, SourceOptions, StepMetrics } from '../engine/graph.js';
export { patternOf, type Match, type Pattern, type PatternStart } from '../engine/pattern.js';
export type { Json } from '../engine/plain.js';
export type { ListState, MapState, StateBackend, StateSnapshot, ValueState } from '../engine/state.js';
export type { Aggregator, EmitMode, SessionWindowSpec, TimeWindowSpec, Windowed, WindowSpec } from '../engine/windows.js';
export { Executor, type DeadLetter, type ExecutorOptions, type ExecutorSnapshot } from '../engine/executor.js';
export { InMemoryStateBackend, type InMemoryBackendOptions } from '../engine/state.js';

// The one error catalogue.
export { ERRORS, ScenestreamError, isScenestreamError, ssError, type ErrorCode, type ErrorDetails, type ErrorSpec } from '../schemas/errors.js';
