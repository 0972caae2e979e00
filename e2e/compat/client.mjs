// client.mjs — syncs shapes with the official @electric-sql/client using
// its DEFAULT value parser (int8 → BigInt, int2/int4/float → Number, bool,
// json/jsonb → parsed, arrays → nested JS arrays), and prints JSON lines
// (value encoding: see lib.mjs).
//
// Usage: node client.mjs '<config json>'
//   {"url":"http://127.0.0.1:3000/v1/shape", "secret":"optional",
//    "shapes":[{"name":"t", "params":{"table":"t", "where":"…", "params":{"1":"x"}},
//               "log":"full|changes_only", "liveSse":false, "offset":"-1|now|…",
//               "handle":"…", "subsetMethod":"GET|POST"}]}
//
// Events:
//   {"event":"started"}
//   {"event":"up-to-date","shape","handle","offset","lsn","rows":{key: row}}
//        rows = the official Shape's currentValue after the batch that ended
//        with up-to-date (the Shape subscribes to the stream first, so it has
//        applied the batch when our subscriber runs).
//   {"event":"must-refetch","shape"}
//   {"event":"error","shape","status","message"}     onError; the stream stops
//   {"event":"fetch-failed","shape","status","url","message"}  one failed attempt
//   {"event":"fatal","message"}
//
// Commands (stdin, see lib.mjs; every driver also answers {"cmd":"requests"} with
// {"requests":[{"shape","method","url"}]}, the last 1000 requests it made):
//   {"cmd":"rows","shape"}                      → {"rows","handle","offset"}
//   {"cmd":"requestSnapshot","shape","subset"}  Shape.requestSnapshot(subset) (rows
//        are injected into the stream and the Shape) → {"rows","handle","offset"}
//   {"cmd":"streamSnapshot","shape","subset"}   ShapeStream.requestSnapshot(subset)
//        → {"metadata","data":{key: row}}
//   {"cmd":"fetchSnapshot","shape","subset"}    ShapeStream.fetchSnapshot(subset)
//        → {"metadata","data":{key: row},"responseOffset","responseHandle"}
// subset: {"where","params":{"1":"v"},"limit","offset","orderBy","method":"GET|POST"}

import { ShapeStream, Shape, BackoffDefaults } from '@electric-sql/client'
import { emit, encode, errorStatus, errorText, readConfig, reportingFetch, requests, serve } from './lib.mjs'

const config = readConfig()
const abort = new AbortController()
const shapes = new Map() // name → { stream, shape }

function rowsOf(map) {
  const out = {}
  for (const [k, v] of map) out[k] = encode(v)
  return out
}

function dataOf(messages) {
  const out = {}
  for (const m of messages) if (m && 'key' in m) out[m.key] = encode(m.value)
  return out
}

for (const sc of config.shapes || []) {
  const name = String(sc.name)
  const params = { ...(sc.params || {}) }
  if (config.secret) params.secret = config.secret
  const options = {
    url: config.url,
    params,
    liveSse: sc.liveSse === true,
    signal: abort.signal,
    fetchClient: reportingFetch(name, abort.signal),
    backoffOptions: { ...BackoffDefaults },
    onError: (err) => {
      emit({ event: 'error', shape: name, status: errorStatus(err), message: errorText(err) })
    },
  }
  if (sc.log) options.log = sc.log
  if (sc.offset) options.offset = sc.offset
  if (sc.handle) options.handle = sc.handle
  if (sc.subsetMethod) options.subsetMethod = sc.subsetMethod

  let stream
  try {
    stream = new ShapeStream(options)
  } catch (err) {
    emit({ event: 'error', shape: name, status: null, message: errorText(err) })
    continue
  }
  const shape = new Shape(stream) // must subscribe before our own subscriber
  shapes.set(name, { stream, shape })
  stream.subscribe((messages) => {
    try {
      let upToDate = null
      for (const msg of messages) {
        const h = msg.headers || {}
        if (h.control === 'must-refetch') emit({ event: 'must-refetch', shape: name })
        if (h.control === 'up-to-date') upToDate = msg
      }
      if (upToDate) {
        const lsn = upToDate.headers.global_last_seen_lsn
        emit({
          event: 'up-to-date',
          shape: name,
          handle: stream.shapeHandle ?? null,
          offset: stream.lastOffset ?? null,
          lsn: lsn === undefined || lsn === null ? null : String(lsn),
          rows: rowsOf(shape.currentValue),
        })
      }
    } catch (err) {
      emit({ event: 'fatal', message: `harness: ${errorText(err)}` })
    }
  })
}
emit({ event: 'started' })

function get(msg) {
  const s = shapes.get(msg.shape)
  if (!s) throw new Error(`no shape ${msg.shape}`)
  return s
}

serve(
  {
    requests: () => ({ requests }),
    rows: (msg) => {
      const { stream, shape } = get(msg)
      return { rows: rowsOf(shape.currentValue), handle: stream.shapeHandle ?? null, offset: stream.lastOffset ?? null }
    },
    requestSnapshot: async (msg) => {
      const { stream, shape } = get(msg)
      await shape.requestSnapshot(msg.subset || {})
      return { rows: rowsOf(shape.currentValue), handle: stream.shapeHandle ?? null, offset: stream.lastOffset ?? null }
    },
    streamSnapshot: async (msg) => {
      const { stream } = get(msg)
      const { metadata, data } = await stream.requestSnapshot(msg.subset || {})
      return { metadata, data: dataOf(data) }
    },
    fetchSnapshot: async (msg) => {
      const { stream } = get(msg)
      const r = await stream.fetchSnapshot(msg.subset || {})
      return {
        metadata: r.metadata,
        data: dataOf(r.data),
        responseOffset: r.responseOffset ?? null,
        responseHandle: r.responseHandle ?? null,
      }
    },
  },
  () => {
    for (const { stream, shape } of shapes.values()) {
      try {
        shape.unsubscribeAll()
        stream.unsubscribeAll()
      } catch {}
    }
    abort.abort()
  },
)
