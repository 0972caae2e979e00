// sync.mjs — syncs shapes from a Galvani server with the official
// @electric-sql/client and prints one JSON object per line on stdout.
//
// Usage: node sync.mjs '<config json>'
//
// Config:
//   {"url":"http://127.0.0.1:3000/v1/shape", "secret":"optional", "verbose":false,
//    "shapes":[{"name":"items", "params":{"table":"items","where":"...","columns":"..."},
//               "liveSse":false, "offset":"optional", "handle":"optional"}]}
//
// A "log" entry in params (e.g. "changes_only") is passed as the stream's `log`
// option instead, because the client reserves `log` as a protocol parameter.
//
// Events (stdout, one JSON object per line):
//   {"event":"started"}                                  all streams created
//   {"event":"up-to-date","shape","handle","offset","lsn","rows","shapeRows"}
//   {"event":"shape","shape","handle","offset","shapeRows"}  Shape notified its subscribers
//   {"event":"must-refetch","shape"}
//   {"event":"message","shape","message"}               every raw message (verbose only)
//   {"event":"error","shape","status","message"}        onError (the stream then stops);
//                                                        shape is null for harness-level errors
//   {"event":"fetch-failed","shape","status","message"} one failed HTTP attempt (the client
//                                                        retries 429/5xx/network errors itself)
//
// Shape rows — which event carries them: both.
//   * `shapeRows` in the "up-to-date" event is the official Shape's currentValue read
//     from inside the stream subscriber. This is exact, not racy: the Shape is created
//     (and so subscribes to the stream) before our own subscriber, the stream calls its
//     subscribers in subscription order, and Shape's message processing is synchronous,
//     so by the time our subscriber runs the Shape has already applied the same batch.
//   * Additionally, every notification of `shape.subscribe` is reported as a "shape"
//     event, so a consumer can also follow what the Shape itself announces.
//   `rows` is our own materialisation of the raw messages (insert: set; update: merge
//   {...old, ...value}; delete: remove; must-refetch: clear).
//
// Values: every type parser is replaced by the identity, so each value is the exact
// string the server sent (or null). Array columns (schema `dims` > 0) are still split
// into JS arrays by the client's array parser. BigInts, should any appear, are printed
// as decimal strings.
//
// The process exits 0 on SIGTERM/SIGINT or when stdin ends (the caller keeps stdin
// open as a lifeline), unsubscribing all streams first.

import { ShapeStream, Shape, BackoffDefaults } from '@electric-sql/client'

const identity = (v) => v

// Every parser the client applies by default (dist: `defaultParser` in src/parser.ts
// of @electric-sql/client 1.5.28: int2, int4, int8, bool, float4, float8, json, jsonb).
// Types not listed there are already left as strings by the client.
const rawParser = {
  int2: identity,
  int4: identity,
  int8: identity,
  bool: identity,
  float4: identity,
  float8: identity,
  json: identity,
  jsonb: identity,
}

function replacer(_key, value) {
  return typeof value === 'bigint' ? value.toString() : value
}

function emit(obj) {
  // process.stdout writes to pipes and files synchronously on Linux, so each
  // line is handed to the reader as soon as it is produced.
  process.stdout.write(JSON.stringify(obj, replacer) + '\n')
}

function errorText(err) {
  if (err instanceof Error) return err.message
  return typeof err === 'string' ? err : JSON.stringify(err, replacer)
}

function mapToObject(map) {
  const out = {}
  for (const [k, v] of map) out[k] = v
  return out
}

function isUpToDate(msg) {
  return msg && msg.headers && msg.headers.control === 'up-to-date'
}

let config
try {
  if (process.argv.length < 3) throw new Error('usage: node sync.mjs <config json>')
  config = JSON.parse(process.argv[2])
  if (!config || typeof config.url !== 'string') throw new Error('config.url must be a string')
  if (!Array.isArray(config.shapes)) throw new Error('config.shapes must be an array')
} catch (err) {
  emit({ event: 'error', shape: null, status: null, message: `bad config: ${errorText(err)}` })
  process.exit(2)
}

const verbose = config.verbose === true
const abort = new AbortController()
const running = [] // { stream, shape, unsubscribes: [] }

process.on('unhandledRejection', (reason) => {
  if (abort.signal.aborted) return
  emit({ event: 'error', shape: null, status: null, message: `unhandled rejection: ${errorText(reason)}` })
})
process.on('uncaughtException', (err) => {
  emit({ event: 'error', shape: null, status: null, message: `uncaught exception: ${errorText(err)}` })
  process.exit(1)
})

function makeFetchClient(name) {
  return async (input, init) => {
    let res
    try {
      res = await fetch(input, init)
    } catch (err) {
      if (!(init && init.signal && init.signal.aborted) && !abort.signal.aborted) {
        const cause = err && err.cause ? `: ${errorText(err.cause)}` : ''
        emit({ event: 'fetch-failed', shape: name, status: null, message: errorText(err) + cause })
      }
      throw err
    }
    if (!res.ok && !abort.signal.aborted) {
      emit({ event: 'fetch-failed', shape: name, status: res.status, message: `HTTP ${res.status}` })
    }
    return res
  }
}

function startShape(sc) {
  const name = String(sc.name)
  const params = { ...(sc.params || {}) }
  let log
  if (params.log !== undefined) {
    log = params.log
    delete params.log
  }
  if (config.secret) params.secret = config.secret

  const options = {
    url: config.url,
    params,
    parser: rawParser,
    liveSse: sc.liveSse === true,
    signal: abort.signal,
    fetchClient: makeFetchClient(name),
    backoffOptions: { ...BackoffDefaults },
    onError: (err) => {
      const status = err && typeof err.status === 'number' ? err.status : null
      emit({ event: 'error', shape: name, status, message: errorText(err) })
      // Return nothing: the stream stops.
    },
  }
  if (log !== undefined) options.log = log
  if (sc.offset) options.offset = sc.offset
  if (sc.handle) options.handle = sc.handle

  let stream
  try {
    stream = new ShapeStream(options)
  } catch (err) {
    emit({ event: 'error', shape: name, status: null, message: errorText(err) })
    return
  }

  // The Shape must subscribe first (see the header comment).
  const shape = new Shape(stream)
  const rows = new Map()
  const entry = { stream, shape, unsubscribes: [] }
  running.push(entry)

  entry.unsubscribes.push(
    shape.subscribe(({ value }) => {
      emit({
        event: 'shape',
        shape: name,
        handle: stream.shapeHandle ?? null,
        offset: stream.lastOffset ?? null,
        shapeRows: mapToObject(value),
      })
    }),
  )

  entry.unsubscribes.push(
    stream.subscribe((messages) => {
      try {
        let upToDate = null
        for (const msg of messages) {
          if (verbose) emit({ event: 'message', shape: name, message: msg })
          const h = msg.headers || {}
          if ('key' in msg) {
            switch (h.operation) {
              case 'insert':
                rows.set(msg.key, msg.value)
                break
              case 'update':
                rows.set(msg.key, { ...(rows.get(msg.key) || {}), ...msg.value })
                break
              case 'delete':
                rows.delete(msg.key)
                break
            }
          } else if (h.control === 'must-refetch') {
            rows.clear()
            emit({ event: 'must-refetch', shape: name })
          } else if (isUpToDate(msg)) {
            upToDate = msg
          }
        }
        if (upToDate) {
          const lsn = upToDate.headers.global_last_seen_lsn
          emit({
            event: 'up-to-date',
            shape: name,
            handle: stream.shapeHandle ?? null,
            offset: stream.lastOffset ?? null,
            lsn: lsn === undefined || lsn === null ? null : String(lsn),
            rows: mapToObject(rows),
            shapeRows: mapToObject(shape.currentValue),
          })
        }
      } catch (err) {
        emit({ event: 'error', shape: name, status: null, message: `harness: ${errorText(err)}` })
      }
    }),
  )
}

for (const sc of config.shapes) startShape(sc)
emit({ event: 'started' })

let stopping = false
function shutdown() {
  if (stopping) return
  stopping = true
  for (const { stream, shape, unsubscribes } of running) {
    for (const u of unsubscribes) {
      try {
        u()
      } catch {}
    }
    try {
      shape.unsubscribeAll()
    } catch {}
    try {
      stream.unsubscribeAll()
    } catch {}
  }
  abort.abort()
  process.exit(0)
}

process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
process.stdin.on('end', shutdown)
process.stdin.on('close', shutdown)
process.stdin.on('error', shutdown)
process.stdin.resume()
