/**
 * Named customer segments of the campaign file (issue 13, item 3): boolean rules over the live
 * profile's fields, parsed into an AST when the campaign loads, and evaluated by the decision step
 * (targets and excludes of an offer) and for the segment-size metrics.
 *
 * ## The language
 *
 * ```text
 * rule       := or
 * or         := and ("or" and)*
 * and        := unary ("and" unary)*
 * unary      := "not" unary | "(" rule ")" | comparison | booleanField
 * comparison := field ("=" | "!=" | "<" | "<=" | ">" | ">=") value
 *             | field ["not"] "in" "[" value ("," value)* "]"
 * value      := number | word | 'quoted' | "quoted" | true | false
 * ```
 *
 * `and` binds tighter than `or`; keywords are lower case. A word (`champions`, `gold`, `S-001`)
 * needs no quotes. Every field has a type ({@link SEGMENT_FIELDS}): numbers compare as numbers;
 * `tier` is ordered `basic < silver < gold < platinum` (`TIERS`); `rfm.segment`, `lastChannel` and
 * `lastStoreId` take `=`, `!=` and `in` only, and are `none` when the profile has none (no
 * purchase known, no channel or store seen); booleans take `=`/`!=` with `true`/`false`, or stand
 * alone (`consent.push and not knownProfile`). A value is checked against its field when the rule
 * is parsed (an unknown tier or RFM segment is an error, not a rule that never matches).
 *
 * ```text
 * rfm.segment in [champions, loyal] and tier >= gold
 * rfm.r <= 2 and monetary >= 500 and not consent.sms
 * ```
 */
import { TIERS, type Consent } from '../schemas/index.js';
import type { ResolvedProfile } from './deps.js';
import type { LiveProfile } from './profile.js';
import { RFM_SEGMENTS } from './rfm.js';

const DAY = 86_400_000;

/**
 * The profile values a rule can read: a projection of {@link LiveProfile}, small and flat so that
 * the decision step can keep one per customer in its state.
 */
export interface SegmentFacts {
  /** Event time the facts are current at (the profile's `asOf`). */
  readonly asOf: number;
  /** The RFM segment, `none` without a purchase known. */
  readonly segment: string;
  readonly r: number;
  readonly f: number;
  readonly m: number;
  readonly frequency: number;
  readonly monetary: number;
  /** Index in `TIERS`. */
  readonly tier: number;
  /** Consent bits: push 1, sms 2, email 4, in_store 8. */
  readonly consent: number;
  readonly known: boolean;
  readonly lastChannel: string;
  readonly lastStoreId: string;
  /** -1: no purchase known. */
  readonly lastPurchaseTs: number;
  readonly cartSize: number;
  readonly cartQuantity: number;
}

const consentBits = (c: Consent): number => (c.push ? 1 : 0) | (c.sms ? 2 : 0) | (c.email ? 4 : 0) | (c.in_store ? 8 : 0);

/** The facts of a live profile. */
export function segmentFacts(p: LiveProfile): SegmentFacts {
  return {
    asOf: p.asOf,
    segment: p.segment ?? 'none',
    r: p.recencyScore,
    f: p.frequencyScore,
    m: p.monetaryScore,
    frequency: p.frequency,
    monetary: p.monetary,
    tier: Math.max(0, (TIERS as readonly string[]).indexOf(p.tier)),
    consent: consentBits({ push: p.consentPush, sms: p.consentSms, email: p.consentEmail, in_store: p.consentInStore }),
    known: p.knownProfile,
    lastChannel: p.lastChannel ?? 'none',
    lastStoreId: p.lastStoreId ?? 'none',
    lastPurchaseTs: p.lastPurchaseTs ?? -1,
    cartSize: p.cartItems,
    cartQuantity: p.cartQuantity,
  };
}

/**
 * The facts of a customer the profile step has not seen yet (a trigger decided before any profile
 * of theirs, which the retail graph's order makes rare): the reference profile's tier and consent,
 * no purchase, no cart, SCENES.md §2's defaults without a reference profile.
 */
export function referenceFacts(ref: ResolvedProfile, asOf: number): SegmentFacts {
  return {
    asOf,
    segment: 'none',
    r: 1,
    f: 1,
    m: 1,
    frequency: 0,
    monetary: 0,
    tier: Math.max(0, (TIERS as readonly string[]).indexOf(ref.tier)),
    consent: consentBits(ref.consent),
    known: ref.known,
    lastChannel: 'none',
    lastStoreId: 'none',
    lastPurchaseTs: ref.lastPurchaseTs ?? -1,
    cartSize: 0,
    cartQuantity: 0,
  };
}

/** Whether two facts agree on everything a rule can read (`asOf` aside). */
export function sameFacts(a: SegmentFacts, b: SegmentFacts): boolean {
  for (const k of Object.keys(a) as (keyof SegmentFacts)[]) if (k !== 'asOf' && a[k] !== b[k]) return false;
  return true;
}

/** A scalar of the language. */
export type SegmentValue = number | string | boolean;

type FieldType =
  | { readonly kind: 'number' }
  | { readonly kind: 'ordered'; readonly values: readonly string[] }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'word' }
  | { readonly kind: 'boolean' };

interface FieldDef {
  readonly type: FieldType;
  readonly doc: string;
  /** The field's value in the facts at time `at` (ordered fields: the index). */
  readonly get: (f: SegmentFacts, at: number) => SegmentValue;
}

const num = { kind: 'number' } as const;
const bool = { kind: 'boolean' } as const;
const consentBit = (bit: number) => (f: SegmentFacts) => (f.consent & bit) !== 0;

/** Every field a rule may name, its type and meaning. */
export const SEGMENT_FIELDS: Readonly<Record<string, FieldDef>> = {
  'rfm.segment': { type: { kind: 'enum', values: ['none', ...RFM_SEGMENTS] }, doc: 'the RFM segment (none: no purchase known)', get: (f) => f.segment },
  'rfm.r': { type: num, doc: 'recency score 1-5', get: (f) => f.r },
  'rfm.f': { type: num, doc: 'frequency score 1-5', get: (f) => f.f },
  'rfm.m': { type: num, doc: 'monetary score 1-5', get: (f) => f.m },
  frequency: { type: num, doc: 'purchases in the horizon', get: (f) => f.frequency },
  monetary: { type: num, doc: 'revenue in the horizon', get: (f) => f.monetary },
  daysSinceLastPurchase: { type: num, doc: 'whole days from the last purchase to the decision (a very large number without one)', get: (f, at) => (f.lastPurchaseTs < 0 ? Number.MAX_SAFE_INTEGER : Math.floor((at - f.lastPurchaseTs) / DAY)) },
  tier: { type: { kind: 'ordered', values: TIERS }, doc: `the tier, ordered ${TIERS.join(' < ')}`, get: (f) => f.tier },
  'consent.push': { type: bool, doc: 'consent to push', get: consentBit(1) },
  'consent.sms': { type: bool, doc: 'consent to sms', get: consentBit(2) },
  'consent.email': { type: bool, doc: 'consent to email', get: consentBit(4) },
  'consent.in_store': { type: bool, doc: 'consent to in-store offers', get: consentBit(8) },
  knownProfile: { type: bool, doc: 'a reference profile exists', get: (f) => f.known },
  lastChannel: { type: { kind: 'enum', values: ['none', 'app', 'web', 'mini_program', 'store'] }, doc: 'channel of the latest click, or store', get: (f) => f.lastChannel },
  lastStoreId: { type: { kind: 'word' }, doc: 'store of the latest till or proximity trigger (none: none)', get: (f) => f.lastStoreId },
  cartSize: { type: num, doc: 'distinct products in the open cart', get: (f) => f.cartSize },
  cartQuantity: { type: num, doc: 'items in the open cart', get: (f) => f.cartQuantity },
};

export type Comparison = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** The parsed rule. Values are resolved against their field (an ordered field's value is its index). */
export type SegmentExpr =
  | { readonly op: 'and' | 'or'; readonly args: readonly SegmentExpr[] }
  | { readonly op: 'not'; readonly arg: SegmentExpr }
  | { readonly op: 'cmp'; readonly field: string; readonly cmp: Comparison; readonly value: SegmentValue }
  | { readonly op: 'in'; readonly field: string; readonly values: readonly SegmentValue[] };

/** A rule that does not parse or does not type-check: where, which field, and why. */
export interface SegmentRuleProblem {
  /** 1-based column in the rule's text. */
  readonly column: number;
  /** The field the problem is about, when there is one. */
  readonly field?: string;
  readonly message: string;
}

type Tok =
  | { readonly t: 'word'; readonly v: string; readonly col: number }
  | { readonly t: 'num'; readonly v: number; readonly col: number }
  | { readonly t: 'str'; readonly v: string; readonly col: number }
  | { readonly t: 'sym'; readonly v: string; readonly col: number }
  | { readonly t: 'end'; readonly col: number };

class RuleError extends Error {
  constructor(readonly problem: SegmentRuleProblem) {
    super(problem.message);
  }
}

const fail = (column: number, message: string, field?: string): never => {
  throw new RuleError(field === undefined ? { column, message } : { column, field, message });
};

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s*(?:(-?\d+(?:\.\d+)?)(?![\w.-])|([A-Za-z_][\w.-]*)|'([^']*)'|"([^"]*)"|(<=|>=|!=|[=<>()[\],]))/y;
  let i = 0;
  while (i < text.length) {
    if (/^\s*$/.test(text.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(text);
    if (m === null) {
      const at = i + (text.slice(i).length - text.slice(i).trimStart().length);
      fail(at + 1, `unexpected character ${JSON.stringify(text[at])}`);
      break;
    }
    const col = m.index + (m[0].length - m[0].trimStart().length) + 1;
    if (m[1] !== undefined) out.push({ t: 'num', v: Number(m[1]), col });
    else if (m[2] !== undefined) out.push({ t: 'word', v: m[2], col });
    else if (m[3] !== undefined || m[4] !== undefined) out.push({ t: 'str', v: m[3] ?? m[4]!, col });
    else out.push({ t: 'sym', v: m[5]!, col });
    i = re.lastIndex;
  }
  out.push({ t: 'end', col: text.length + 1 });
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false']);
const COMPARISONS: readonly string[] = ['=', '!=', '<', '<=', '>', '>='];
const show = (k: Tok): string => (k.t === 'end' ? 'the end of the rule' : k.t === 'str' ? `'${k.v}'` : `"${String(k.v)}"`);

class Parser {
  private i = 0;
  constructor(private readonly toks: readonly Tok[]) {}

  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private next(): Tok {
    return this.toks[this.i++]!;
  }
  private isWord(v: string): boolean {
    const k = this.peek();
    return k.t === 'word' && k.v === v;
  }
  private isSym(v: string): boolean {
    const k = this.peek();
    return k.t === 'sym' && k.v === v;
  }
  private expectSym(v: string, what: string): void {
    if (!this.isSym(v)) fail(this.peek().col, `expected ${what} but found ${show(this.peek())}`);
    this.i++;
  }

  rule(): SegmentExpr {
    const e = this.or();
    const k = this.peek();
    if (k.t !== 'end') fail(k.col, `expected "and", "or" or the end of the rule but found ${show(k)}`);
    return e;
  }

  private or(): SegmentExpr {
    return this.chain('or', () => this.and());
  }

  private and(): SegmentExpr {
    return this.chain('and', () => this.unary());
  }

  /** `operand (word operand)*`, one node for the run (left to right). */
  private chain(word: 'and' | 'or', operand: () => SegmentExpr): SegmentExpr {
    const args = [operand()];
    while (this.isWord(word)) {
      this.i++;
      args.push(operand());
    }
    return args.length === 1 ? args[0]! : { op: word, args };
  }

  private unary(): SegmentExpr {
    if (this.isWord('not')) {
      this.i++;
      return { op: 'not', arg: this.unary() };
    }
    if (this.isSym('(')) {
      this.i++;
      const e = this.or();
      this.expectSym(')', '")"');
      return e;
    }
    return this.comparison();
  }

  private comparison(): SegmentExpr {
    const k = this.next();
    if (k.t !== 'word' || KEYWORDS.has(k.v)) return fail(k.col, `expected a field, "not" or "(" but found ${show(k)}`);
    const field = k.v;
    const def = SEGMENT_FIELDS[field];
    if (def === undefined) return fail(k.col, `unknown field "${field}" (the fields are ${Object.keys(SEGMENT_FIELDS).join(', ')})`, field);
    const op = this.peek();
    if (op.t === 'word' && (op.v === 'in' || op.v === 'not')) {
      this.i++;
      if (op.v === 'not' && !this.isWord('in')) fail(this.peek().col, `expected "in" after "${field} not" but found ${show(this.peek())}`, field);
      if (op.v === 'not') this.i++;
      if (def.type.kind === 'boolean') fail(op.col, `${field} is true or false: compare it with = or !=, or use it alone`, field);
      this.expectSym('[', `"[" after "in"`);
      const values = [this.value(field, def.type)];
      while (this.isSym(',')) {
        this.i++;
        values.push(this.value(field, def.type));
      }
      this.expectSym(']', '"," or "]"');
      const e: SegmentExpr = { op: 'in', field, values };
      return op.v === 'not' ? { op: 'not', arg: e } : e;
    }
    if (op.t === 'sym' && COMPARISONS.includes(op.v)) {
      this.i++;
      const cmp = op.v as Comparison;
      const ordered = def.type.kind === 'number' || def.type.kind === 'ordered';
      if (!ordered && cmp !== '=' && cmp !== '!=') fail(op.col, `${field} has no order: use =, != or in`, field);
      return { op: 'cmp', field, cmp, value: this.value(field, def.type) };
    }
    if (def.type.kind === 'boolean') return { op: 'cmp', field, cmp: '=', value: true };
    return fail(op.col, `expected a comparison (${COMPARISONS.join(' ')}) or "in" after ${field} but found ${show(op)}`, field);
  }

  private value(field: string, type: FieldType): SegmentValue {
    const k = this.next();
    switch (type.kind) {
      case 'number':
        if (k.t !== 'num') fail(k.col, `${field} is a number; found ${show(k)}`, field);
        return (k as { v: number }).v;
      case 'boolean':
        if (k.t !== 'word' || (k.v !== 'true' && k.v !== 'false')) fail(k.col, `${field} is true or false; found ${show(k)}`, field);
        return (k as { v: string }).v === 'true';
      case 'ordered':
      case 'enum': {
        const v = k.t === 'word' || k.t === 'str' ? k.v : undefined;
        const i = v === undefined ? -1 : type.values.indexOf(v);
        if (i < 0) fail(k.col, `${field} must be one of ${type.values.join(', ')}; found ${show(k)}`, field);
        return type.kind === 'ordered' ? i : v!;
      }
      case 'word':
        if ((k.t !== 'word' && k.t !== 'str') || (k.t === 'word' && KEYWORDS.has(k.v))) fail(k.col, `${field} takes a word or a 'quoted' value; found ${show(k)}`, field);
        return (k as { v: string }).v;
    }
  }
}

/** Parses and type-checks a rule: the AST, or the first problem with its column. */
export function parseSegmentRule(text: string): { ok: true; expr: SegmentExpr } | { ok: false; problem: SegmentRuleProblem } {
  try {
    const toks = tokenize(text);
    if (toks.length === 1) return { ok: false, problem: { column: 1, message: 'is empty' } };
    return { ok: true, expr: new Parser(toks).rule() };
  } catch (e) {
    if (e instanceof RuleError) return { ok: false, problem: e.problem };
    throw e;
  }
}

function compare(a: SegmentValue, cmp: Comparison, b: SegmentValue): boolean {
  switch (cmp) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/** Whether the facts satisfy the rule at time `at` (the decision's ts; it only matters to `daysSinceLastPurchase`). */
export function evaluateSegment(e: SegmentExpr, facts: SegmentFacts, at: number = facts.asOf): boolean {
  switch (e.op) {
    case 'and':
      return e.args.every((x) => evaluateSegment(x, facts, at));
    case 'or':
      return e.args.some((x) => evaluateSegment(x, facts, at));
    case 'not':
      return !evaluateSegment(e.arg, facts, at);
    case 'cmp':
      return compare(SEGMENT_FIELDS[e.field]!.get(facts, at), e.cmp, e.value);
    case 'in': {
      const v = SEGMENT_FIELDS[e.field]!.get(facts, at);
      return e.values.includes(v);
    }
  }
}

/** A named segment of the campaign file, parsed. */
export interface CampaignSegment {
  readonly name: string;
  /** The rule as written. */
  readonly rule: string;
  readonly expr: SegmentExpr;
}

/** Who an offer template is for: it is sent only to members of one of `targets` (if any) and of none of `excludes`. */
export interface SegmentTargeting {
  readonly targets: readonly string[];
  readonly excludes: readonly string[];
}

export const NO_TARGETING: SegmentTargeting = { targets: [], excludes: [] };

/** The names of the segments the facts are in, in the campaign's order. */
export function segmentsOf(segments: readonly CampaignSegment[], facts: SegmentFacts, at: number = facts.asOf): string[] {
  return segments.filter((s) => evaluateSegment(s.expr, facts, at)).map((s) => s.name);
}

/**
 * Whether targeting lets the offer go to a customer with these facts. `excludes` first: a customer
 * both targeted and excluded is excluded.
 */
export function targetingAllows(t: SegmentTargeting, segments: readonly CampaignSegment[], facts: SegmentFacts, at: number): boolean {
  if (t.targets.length === 0 && t.excludes.length === 0) return true;
  const inSeg = (name: string): boolean => {
    const s = segments.find((x) => x.name === name);
    return s !== undefined && evaluateSegment(s.expr, facts, at);
  };
  if (t.excludes.some(inSeg)) return false;
  return t.targets.length === 0 || t.targets.some(inSeg);
}
