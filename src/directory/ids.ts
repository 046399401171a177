// Stable Open Referral UK identifiers. ORUK wants UUIDs; our network uses readable text ids
// ("org-gp-01-svc1"). An id that is already a UUID is used as it is (so imported directories
// keep theirs); any other id maps to a name-based UUID (RFC 9562 version 5), the same every time.
import { createHash } from 'node:crypto';

/** Joinery's namespace for version 5 UUIDs (itself a fixed random UUID). */
const NAMESPACE = '5b0c6f0e-3a55-4b8e-9c6d-1f7a2e4d9b31';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

export function uuidV5(name: string, namespace = NAMESPACE): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export type OrukKind =
  | 'organization'
  | 'service'
  | 'location'
  | 'address'
  | 'service_at_location'
  | 'schedule'
  | 'contact'
  | 'phone'
  | 'service_area'
  | 'taxonomy'
  | 'taxonomy_term'
  | 'attribute'
  | 'cost_option'
  | 'accessibility';

/** The ORUK id of one of our records: the id itself if it is a UUID, else a stable UUID v5. */
export function orukId(kind: OrukKind, ourId: string): string {
  return isUuid(ourId) ? ourId.toLowerCase() : uuidV5(`${kind}:${ourId}`);
}
