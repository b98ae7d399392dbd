import type { OperatorDef } from '../engine/graph.js';
import type { ListState, MapState, StateOptions, ValueState } from '../engine/state.js';
import type { TimerQueue } from '../engine/timers.js';
import { userError } from '../engine/userFn.js';
import { HeldRecords, type EventTimeOrder } from './eventTimeOrder.js';

/** Declares the keyed state of a {@link keyedProcess} step, scoped by its step id. */
export interface StateFactory {
  value<V>(name: string, opts?: StateOptions): ValueState<V>;
  map<V>(name: string, opts?: StateOptions): MapState<V>;
  list<V>(name: string, opts?: StateOptions): ListState<V>;
}

/** What a processor sees for one record or timer. One object per step, reused: do not keep it. */
export interface ProcessContext<O> {
  /** The current key. */
  readonly key: string;
  /** Event time of the record, or the timestamp of the firing timer. */
  readonly ts: number;
  /** The step's watermark: no more records with `ts <= watermark` will come. */
  readonly watermark: number;
  /** Processing time now. */
  readonly now: number;
  /** Emits an output with the given event time (default: `ctx.ts`), under the current key. */
  emit(value: O, ts?: number): void;
  /** Emits to a side output declared in the step's options. */
  side(tag: string, value: unknown): void;
  /** Registers an event-time timer for the current key; it fires once the watermark reaches `ts`. Same (ts, tag) twice is one timer. */
  registerEventTimer(ts: number, tag?: string): void;
  deleteEventTimer(ts: number, tag?: string): void;
  /** Registers a processing-time timer for the current key; it fires once processing time reaches `ts`. */
  registerProcessingTimer(ts: number, tag?: string): void;
  deleteProcessingTimer(ts: number, tag?: string): void;
}

/** The behaviour of a keyed process step. */
export interface KeyedProcessor<T, O> {
  onElement(value: T, ctx: ProcessContext<O>): void;
  /**
   * With the `order` option: receives each released (key, ts) group in one call, in release order,
   * instead of one `onElement` per record (a step that evaluates once per group). Records handed
   * over on arrival (late, or not held) still come to `onElement`.
   */
  onElements?(values: readonly T[], ctx: ProcessContext<O>): void;
  onEventTimer?(ts: number, tag: string, ctx: ProcessContext<O>): void;
  onProcessingTimer?(ts: number, tag: string, ctx: ProcessContext<O>): void;
}

export interface KeyedProcessOptions<T = unknown> {
  /** Side outputs the processor may emit to with `ctx.side`. */
  readonly sideOutputs?: readonly string[];
  /**
   * Hand records to the processor in event-time order, released by the step's watermark
   * ({@link eventTimeOrder}: `order: eventTimeOrder({ rank })`); absent, in arrival order.
   */
  readonly order?: EventTimeOrder<T>;
}

const SEP = '\u0001';

/**
 * The general keyed step, as Flink's `KeyedProcessFunction`: per-key state and event-time and
 * processing-time timers. Every other stateful operator could be written with it; the retail
 * scenes that do not fit a named operator are.
 *
 * - Records are handled in arrival order; `ctx.watermark` tells a late record (`ts <= watermark`)
 *   apart, and the processor decides what to do with it. With the `order` option
 *   (`operators/eventTimeOrder.ts`) the step instead holds each key's records and hands them over
 *   in event-time order as its watermark passes them.
 * - An event-time timer at `t` fires when the step's watermark reaches `t` (all records with
 *   `ts <= t` have been seen), in timestamp order, then key registration order. A timer registered
 *   at or below the current watermark fires with the next watermark advance.
 * - Processing-time timers fire when the runtime's clock reaches them (the test kit's virtual clock).
 * - Timers are state: they are snapshotted with the step's state and survive a restart.
 * - A timer handler that throws is dead-lettered (`SS_ERR_USER_FUNCTION`, value `{timer: {key,
 *   ts, tag}}`) and the other timers due at the same watermark still fire.
 *
 * ```text
 * in:        add(k, t=0)                       purchase? no
 * timer:                   @t=1800000 fires -> emit "abandoned"(k, 1800000)
 * ```
 */
export function keyedProcess<T, O>(
  stepId: string,
  setup: (state: StateFactory) => KeyedProcessor<T, O>,
  opts: KeyedProcessOptions<T> = {},
): OperatorDef<T, O> {
  return {
    kind: 'keyedProcess',
    stepId,
    stateful: true,
    keyed: true,
    sideOutputs: opts.sideOutputs ?? [],
    create(rt) {
      const id = rt.stepId;
      const st = rt.state;
      const factory: StateFactory = {
        value: (name, o) => st.valueState(id, name, o),
        map: (name, o) => st.mapState(id, name, o),
        list: (name, o) => st.listState(id, name, o),
      };
      const proc = setup(factory);
      const eventTimers: TimerQueue = st.timers(id, 'event');
      const procTimers: TimerQueue = st.timers(id, 'processing');
      const emit = rt.emit;
      const sides = new Map<string, (v: unknown, ts: number, k: string) => void>();
      for (const tag of opts.sideOutputs ?? []) sides.set(tag, rt.side(tag));
      // Under `order`, a bare key is a release timer of the held records: the processor's own timers always carry a tag.
      const held = opts.order === undefined ? undefined : new HeldRecords<T>(opts.order, st.valueState<T[]>(id, 'pending'), eventTimers);
      const tk = (key: string, tag: string): string => (tag === '' && held === undefined ? key : key + SEP + tag);

      const ctx = {
        key: '',
        ts: 0,
        get watermark() {
          return rt.watermark();
        },
        get now() {
          return rt.clock.now();
        },
        emit(value: O, ts?: number) {
          emit(value, ts ?? ctx.ts, ctx.key);
        },
        side(tag: string, value: unknown) {
          const s = sides.get(tag);
          if (s === undefined) throw userError(id, new Error(`side output "${tag}" is not declared in the step's options`));
          s(value, ctx.ts, ctx.key);
        },
        registerEventTimer(ts: number, tag = '') {
          eventTimers.register(ts, tk(ctx.key, tag));
        },
        deleteEventTimer(ts: number, tag = '') {
          eventTimers.delete(ts, tk(ctx.key, tag));
        },
        registerProcessingTimer(ts: number, tag = '') {
          procTimers.register(ts, tk(ctx.key, tag));
        },
        deleteProcessingTimer(ts: number, tag = '') {
          procTimers.delete(ts, tk(ctx.key, tag));
        },
      };

      /** Hands over the held records of the current key with ts <= upTo; a record (group) that throws is dead-lettered. */
      const release = (h: HeldRecords<T>, upTo: number) => {
        const list = h.release(ctx.key, upTo);
        const timestamp = opts.order!.timestamp;
        for (let i = 0; i < list.length; ) {
          const ts = timestamp(list[i]!);
          let j = i + 1;
          if (proc.onElements !== undefined) {
            while (j < list.length && timestamp(list[j]!) === ts) j++;
          }
          ctx.ts = ts;
          try {
            if (proc.onElements !== undefined) proc.onElements(i === 0 && j === list.length ? list : list.slice(i, j), ctx);
            else proc.onElement(list[i]!, ctx);
          } catch (e) {
            const error = userError(id, e);
            for (let k = i; k < j; k++) rt.deadLetter(list[k], ts, error);
          }
          i = j;
        }
      };

      const fire = (handler: ((ts: number, tag: string, c: ProcessContext<O>) => void) | undefined, releases: HeldRecords<T> | undefined) => (ts: number, timerKey: string) => {
        const i = timerKey.indexOf(SEP);
        ctx.key = i < 0 ? timerKey : timerKey.slice(0, i);
        st.time.currentTime = ts;
        if (releases !== undefined) {
          // Any timer of the key releases its records up to the timer's ts first; a bare key is only that.
          release(releases, ts);
          if (i < 0) return;
        }
        ctx.ts = ts;
        if (handler === undefined) return;
        const tag = i < 0 ? '' : timerKey.slice(i + 1);
        try {
          handler.call(proc, ts, tag, ctx);
        } catch (e) {
          // One failing timer is dead-lettered; the other timers of this watermark still fire.
          rt.deadLetter({ timer: { key: ctx.key, ts, tag } }, ts, userError(id, e));
        }
      };
      const onEvent = fire(proc.onEventTimer, held);
      const onProc = fire(proc.onProcessingTimer, undefined);

      return {
        process(value, ts, key) {
          if (held !== undefined && held.hold(value, ts, key, rt.watermark())) return;
          ctx.key = key;
          ctx.ts = ts;
          try {
            proc.onElement(value, ctx);
          } catch (e) {
            throw userError(id, e);
          }
        },
        onWatermark(w) {
          eventTimers.fire(w, onEvent);
        },
        nextEventTime() {
          return eventTimers.peek() ?? Infinity;
        },
        onProcessingTime(now) {
          procTimers.fire(now, onProc);
        },
      };
    },
  };
}
