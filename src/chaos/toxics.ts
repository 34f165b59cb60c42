// The Toxiproxy toxic types: their attributes and defaults, and the parsing of a toxic as its API sends it.

import { badRequest, FaultProxyError } from './proxyErrors.ts';

export type ToxicStream = 'upstream' | 'downstream';

/** Every attribute of each toxic type, in the order Toxiproxy prints them; all default to 0. */
export const TOXIC_ATTRIBUTES = {
  latency: ['latency', 'jitter'],
  bandwidth: ['rate'],
  slow_close: ['delay'],
  timeout: ['timeout'],
  reset_peer: ['timeout'],
  slicer: ['average_size', 'size_variation', 'delay'],
  limit_data: ['bytes'],
  noop: [],
} as const satisfies Record<string, readonly string[]>;

export type ToxicType = keyof typeof TOXIC_ATTRIBUTES;

export const TOXIC_TYPES = Object.keys(TOXIC_ATTRIBUTES) as readonly ToxicType[];

/** A toxic as the API shows it. */
export interface ToxicView {
  attributes: Record<string, number>;
  name: string;
  type: ToxicType;
  stream: ToxicStream;
  toxicity: number;
}

/** What POST /proxies/{p}/toxics accepts, already checked. */
export interface ToxicInput {
  readonly name: string;
  readonly type: ToxicType;
  readonly stream: ToxicStream;
  readonly toxicity: number;
  readonly attributes: Record<string, number>;
}

/** What POST /proxies/{p}/toxics/{t} changes: attributes are merged, toxicity kept when omitted. */
export interface ToxicPatch {
  readonly attributes?: Record<string, number>;
  readonly toxicity?: number;
}

export function isToxicType(type: unknown): type is ToxicType {
  return typeof type === 'string' && Object.hasOwn(TOXIC_ATTRIBUTES, type);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses a new toxic the way Toxiproxy does: defaults `stream` downstream, `toxicity` 1 and
 * `name` `<type>_<stream>`; checks the stream before the type; ignores unknown attribute keys.
 */
export function parseToxicInput(body: unknown): ToxicInput {
  if (!isRecord(body)) throw badRequest();
  const { name = '', type = '', stream = 'downstream', toxicity = 1 } = body;
  if (typeof name !== 'string' || typeof type !== 'string' || typeof stream !== 'string') throw badRequest();
  if (typeof toxicity !== 'number') throw badRequest();
  const direction = stream.toLowerCase();
  if (direction !== 'upstream' && direction !== 'downstream') {
    throw new FaultProxyError(
      'PROXY_BAD_REQUEST',
      'stream was invalid, can be either upstream or downstream',
    );
  }
  if (!isToxicType(type)) throw new FaultProxyError('PROXY_BAD_REQUEST', 'invalid toxic type');
  const attributes = mergeAttributes(type, defaultAttributes(type), body.attributes);
  return { name: name || `${type}_${direction}`, type, stream: direction, toxicity, attributes };
}

/** Parses a toxic update; attribute keys are those of `type`. */
export function parseToxicPatch(type: ToxicType, current: Record<string, number>, body: unknown): ToxicPatch {
  if (!isRecord(body)) throw badRequest();
  const { toxicity } = body;
  if (toxicity !== undefined && typeof toxicity !== 'number') throw badRequest();
  const attributes = mergeAttributes(type, current, body.attributes);
  return toxicity === undefined ? { attributes } : { attributes, toxicity };
}

export function defaultAttributes(type: ToxicType): Record<string, number> {
  const attributes: Record<string, number> = {};
  for (const key of TOXIC_ATTRIBUTES[type]) attributes[key] = 0;
  return attributes;
}

// Toxiproxy decodes attributes into int64 fields: anything but an integer is a bad request body.
function mergeAttributes(
  type: ToxicType,
  base: Record<string, number>,
  given: unknown,
): Record<string, number> {
  const merged = { ...base };
  if (given === undefined || given === null) return merged;
  if (!isRecord(given)) throw badRequest();
  for (const key of TOXIC_ATTRIBUTES[type]) {
    const value = given[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw badRequest();
    merged[key] = value;
  }
  return merged;
}
