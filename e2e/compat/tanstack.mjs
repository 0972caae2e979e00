// tanstack.mjs — a TanStack DB collection synced from Galvani with
// @tanstack/electric-db-collection, driven over stdin (see lib.mjs).
//
// Usage: node tanstack.mjs '<config json>'
//   {"url":"http://127.0.0.1:3000/v1/shape", "secret":"optional",
//    "params":{"table":"items"}, "key":"id"}
//
// Events:
//   {"event":"started"}
//   {"event":"ready","rows":{key: row}}        the collection finished its initial sync
//   {"event":"backend","rid","mutations":[{"type","key","modified","original","changes"}]}
//        a mutation handler (onInsert/onUpdate/onDelete) asks the "app backend" (the Go
//        test) to write to Postgres; the test answers with the command backendReply.
//   {"event":"fetch-failed",…}, {"event":"error",…}, {"event":"fatal",…}
//
// Commands (also {"cmd":"requests"} → {"requests":[{"shape","method","url"}]}):
//   {"cmd":"rows"}                          → {"rows":{key: row}, "status"}
//   {"cmd":"awaitTxId","txid":N,"timeout":ms} → {"ms"} once collection.utils.awaitTxId resolves
//   {"cmd":"insert","row":{…}} / {"cmd":"update","key":k,"set":{…}} / {"cmd":"delete","key":k}
//        optimistic mutation through the collection; resolves when the transaction is
//        persisted, i.e. after the handler's returned txid was seen in the stream
//        → {"ms","rows"} (rows = collection state right after)
//   {"cmd":"backendReply","rid","txid":N|null,"error":null|"…"}
// Rows drop TanStack's virtual `$…` properties; values keep the client's parsed types.

import { createCollection } from '@tanstack/db'
import { electricCollectionOptions } from '@tanstack/electric-db-collection'
import { BackoffDefaults } from '@electric-sql/client'
import { emit, encode, errorStatus, errorText, readConfig, reportingFetch, requests, serve } from './lib.mjs'

const config = readConfig()
const abort = new AbortController()
const keyCol = config.key || 'id'

const params = { ...(config.params || {}) }
if (config.secret) params.secret = config.secret

let nextRid = 1
const pendingBackend = new Map()

function askBackend(transaction) {
  const rid = nextRid++
  const mutations = transaction.mutations.map((m) => ({
    type: m.type,
    key: encode(m.key),
    modified: encode(strip(m.modified)),
    original: encode(strip(m.original)),
    changes: encode(strip(m.changes)),
  }))
  return new Promise((resolve, reject) => {
    pendingBackend.set(rid, { resolve, reject })
    emit({ event: 'backend', rid, mutations })
  })
}

async function handler({ transaction }) {
  const reply = await askBackend(transaction)
  return { txid: reply.txid, timeout: config.txidTimeout || 10000 }
}

function strip(row) {
  if (!row || typeof row !== 'object') return row
  const out = {}
  for (const [k, v] of Object.entries(row)) if (!k.startsWith('$')) out[k] = v
  return out
}

const collection = createCollection(
  electricCollectionOptions({
    id: 'galvani-compat',
    shapeOptions: {
      url: config.url,
      params,
      signal: abort.signal,
      fetchClient: reportingFetch(params.table, abort.signal),
      backoffOptions: { ...BackoffDefaults },
      onError: (err) => {
        emit({ event: 'error', shape: params.table, status: errorStatus(err), message: errorText(err) })
      },
    },
    getKey: (row) => row[keyCol],
    onInsert: handler,
    onUpdate: handler,
    onDelete: handler,
  }),
)

function rows() {
  const out = {}
  for (const [k, v] of collection.state) out[String(k)] = encode(strip(v))
  return out
}

emit({ event: 'started' })
collection.preload().then(
  () => emit({ event: 'ready', rows: rows() }),
  (err) => emit({ event: 'error', shape: params.table, status: errorStatus(err), message: `preload: ${errorText(err)}` }),
)

async function persisted(tx) {
  const start = Date.now()
  await tx.isPersisted.promise
  return { ms: Date.now() - start, rows: rows() }
}

serve(
  {
    requests: () => ({ requests }),
    rows: () => ({ rows: rows(), status: collection.status }),
    awaitTxId: async (msg) => {
      const start = Date.now()
      const ok = await collection.utils.awaitTxId(msg.txid, msg.timeout || 10000)
      if (ok !== true) throw new Error(`awaitTxId resolved with ${ok}`)
      return { ms: Date.now() - start }
    },
    insert: (msg) => persisted(collection.insert(msg.row)),
    update: (msg) =>
      persisted(
        collection.update(msg.key, (draft) => {
          Object.assign(draft, msg.set)
        }),
      ),
    delete: (msg) => persisted(collection.delete(msg.key)),
    backendReply: (msg) => {
      const p = pendingBackend.get(msg.rid)
      if (!p) throw new Error(`no backend request ${msg.rid}`)
      pendingBackend.delete(msg.rid)
      if (msg.error) p.reject(new Error(msg.error))
      else p.resolve({ txid: msg.txid })
      return null
    },
  },
  async () => {
    abort.abort()
    try {
      await collection.cleanup()
    } catch {}
  },
)
