/**
 * Object ids are TypeIDs (`prod_01h455vb4pex5vsknk084sn02q`): a type prefix plus a UUIDv7.
 * The prefix doubles as the Relay global-id type, so `node(id:)` routes on it, and UUIDv7's
 * time order keeps new rows at the end of the primary-key index.
 */
import { TypeID, typeid } from 'typeid-js';

export const IdPrefix = {
  Tenant: 'ten',
  User: 'usr',
  Product: 'prod',
  Order: 'ord',
  OrderItem: 'item',
  WebhookEndpoint: 'whep',
  WebhookDelivery: 'whdl',
} as const;

/**
 * Prefixes of objects that are not Nodes (`node(id:)` does not route to them): API keys are
 * fetched through `apiKeys`, audit events through `auditEvents`.
 */
export const OtherIdPrefix = {
  ApiKey: 'key',
  AuditEvent: 'aud',
} as const;

export type OtherIdPrefix = (typeof OtherIdPrefix)[keyof typeof OtherIdPrefix];

/** `nodes(ids:)` fetches at most this many objects in one call. */
export const MAX_NODES_IDS = 100;

export type IdPrefix = (typeof IdPrefix)[keyof typeof IdPrefix];
export type NodeTypename = keyof typeof IdPrefix;

const typenameByPrefix = new Map<string, NodeTypename>(
  Object.entries(IdPrefix).map(([typename, prefix]) => [prefix, typename as NodeTypename]),
);

export function newId(prefix: IdPrefix | OtherIdPrefix): string {
  return typeid(prefix).toString();
}

/** A deterministic id for seeds and fixtures: the UUID is derived from a counter and a time. */
export function idFromParts(prefix: IdPrefix, timeMs: number, counter: number): string {
  const hex = timeMs.toString(16).padStart(12, '0');
  // UUIDv7 layout: 48-bit time, version nibble 7, 12 bits, variant nibble 8, 60 bits:
  // 18 hex digits of counter in all.
  const rand = counter.toString(16).padStart(18, '0').slice(-18);
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rand.slice(0, 3)}-8${rand.slice(3, 6)}-${rand.slice(6, 18)}`;
  return TypeID.fromUUID(prefix, uuid).toString();
}

/** Parses an id and returns its typename, or null when it is not a TypeID this API issues. */
export function parseId(id: string): { typename: NodeTypename; id: string } | null {
  if (id.length > 90) return null;
  try {
    const parsed = TypeID.fromString(id);
    const typename = typenameByPrefix.get(parsed.getType());
    return typename ? { typename, id: parsed.toString() } : null;
  } catch {
    return null;
  }
}

/** True when `id` is a well-formed TypeID of an object that is not a Node (an API key …). */
export function isOtherIdOf(prefix: OtherIdPrefix, id: string): boolean {
  if (id.length > 90) return false;
  try {
    return TypeID.fromString(id).getType() === prefix;
  } catch {
    return false;
  }
}

/** True when `id` is a well-formed TypeID with the given prefix. */
export function isIdOf(prefix: IdPrefix, id: string): boolean {
  return parseId(id)?.typename === typenameByPrefix.get(prefix);
}
