/**
 * The registry writes of `mesh cert`: a certificate record by name, and with
 * the first one the cluster's TLS session ticket keys (`tls` part, id
 * `tickets`: 48 random bytes, hex), in the same write, so every node that
 * terminates TLS resumes the sessions any other node started.
 */
import { randomBytes } from 'node:crypto'
import { MeshError } from '../errors'
import type { Snapshot, WriteOp } from '../registry/store'
import { SCHEMA_VERSION, type CertRecord, type TlsKeysRecord } from '../registry/types'
import type { CertPair } from './cert-files'

export const TICKETS_ID = 'tickets'
/** Node's ticketKeys length. */
export const TICKET_KEY_BYTES = 48

export function findCert (snap: Pick<Snapshot, 'parts'>, name: string): CertRecord {
  const c = snap.parts.certs.get(name)
  if (c === undefined) throw new MeshError('MESH_ERR_CERT_NOT_FOUND', `no such certificate: ${name}`)
  return c
}

export function certRecord (name: string, pair: CertPair, createdAt: number, now: number): CertRecord {
  return { v: SCHEMA_VERSION, name, cert: pair.cert, key: pair.key, createdAt, updatedAt: now }
}

/** The write of `record`, plus the cluster's ticket keys when the registry has none yet. */
export function certWriteOps (snap: Pick<Snapshot, 'parts'>, record: CertRecord, now: number): WriteOp[] {
  const ops: WriteOp[] = [{ type: 'cert', id: record.name, value: record }]
  if (!snap.parts.tls.has(TICKETS_ID)) {
    const keys: TlsKeysRecord = { v: SCHEMA_VERSION, ticketKeys: randomBytes(TICKET_KEY_BYTES).toString('hex'), createdAt: now }
    ops.push({ type: 'tls', id: TICKETS_ID, value: keys })
  }
  return ops
}
