// lib.mjs — what every compat driver shares: JSON-line output with typed
// values, the JSON config argument, a stdin command loop and clean shutdown.
//
// Output: one JSON object per line on stdout. Values produced by the
// clients' parsers are encoded so the Go side can tell the JS types apart:
//   bigint            → {"$bigint":"<decimal>"}
//   number            → {"$number":"<String(n)>"}   (also NaN, Infinity, -Infinity, -0 as "-0")
//   string, boolean, null, arrays, plain objects → themselves (recursively)
//   Date              → {"$date":"<toISOString()>"}
//   Uint8Array        → {"$bytes":"<hex>"}
//
// Commands: one JSON object per line on stdin, {"id":<n>,"cmd":"<name>",...}.
// Each is answered by {"event":"result","id":<n>,"ok":true,"value":…} or
// {"event":"result","id":<n>,"ok":false,"error":"…","status":<http status|null>}.
// The process exits 0 when stdin ends or on SIGTERM/SIGINT.

export function encode(value) {
  if (typeof value === 'bigint') return { $bigint: value.toString() }
  if (typeof value === 'number') return { $number: Object.is(value, -0) ? '-0' : String(value) }
  if (value === null || value === undefined) return null
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (value instanceof Date) return { $date: isNaN(value) ? 'Invalid Date' : value.toISOString() }
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('hex') }
  if (Array.isArray(value)) return value.map(encode)
  if (value instanceof Map) {
    const out = {}
    for (const [k, v] of value) out[String(k)] = encode(v)
    return out
  }
  if (typeof value === 'object') {
    const out = {}
    for (const [k, v] of Object.entries(value)) out[k] = encode(v)
    return out
  }
  return { $unknown: String(value) }
}

// plain turns bigints into decimal strings so metadata etc. can be printed as JSON.
export function plain(_key, value) {
  return typeof value === 'bigint' ? value.toString() : value
}

export function emit(obj) {
  process.stdout.write(JSON.stringify(obj, plain) + '\n')
}

export function errorText(err) {
  if (err instanceof Error) {
    let s = `${err.name}: ${err.message}`
    if (err.json !== undefined) s += ` body=${JSON.stringify(err.json, plain)}`
    else if (err.text) s += ` body=${err.text}`
    return s
  }
  return typeof err === 'string' ? err : JSON.stringify(err, plain)
}

export function errorStatus(err) {
  return err && typeof err.status === 'number' ? err.status : null
}

export function readConfig() {
  try {
    if (process.argv.length < 3) throw new Error('usage: node <script> <config json>')
    return JSON.parse(process.argv[2])
  } catch (err) {
    emit({ event: 'fatal', message: `bad config: ${errorText(err)}` })
    process.exit(2)
  }
}

// A fetch wrapper that reports every failed HTTP attempt (the clients retry
// 5xx/429/network errors by themselves, so these would otherwise be silent)
// and records every request in `requests`.
export const requests = [] // every URL fetched, in order (last 1000)

export function reportingFetch(name, signal) {
  return async (input, init) => {
    requests.push({ shape: name, method: (init && init.method) || 'GET', url: String(input) })
    if (requests.length > 1000) requests.shift()
    let res
    try {
      res = await fetch(input, init)
    } catch (err) {
      if (!(init && init.signal && init.signal.aborted) && !(signal && signal.aborted)) {
        const cause = err && err.cause ? `: ${errorText(err.cause)}` : ''
        emit({ event: 'fetch-failed', shape: name, status: null, url: String(input), message: errorText(err) + cause })
      }
      throw err
    }
    if (!res.ok && !(signal && signal.aborted)) {
      let body = ''
      try {
        body = await res.clone().text()
      } catch {}
      emit({ event: 'fetch-failed', shape: name, status: res.status, url: String(input), message: `HTTP ${res.status} ${body}` })
    }
    return res
  }
}

// serve runs the command loop: handlers[cmd](msg) may return a value or a
// promise; its result or error is reported as a "result" event. onStop runs
// before the process exits.
export function serve(handlers, onStop) {
  let buf = ''
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    try {
      if (onStop) await onStop()
    } catch {}
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('unhandledRejection', (reason) => {
    if (stopping) return
    const stack = reason instanceof Error && reason.stack ? ` stack: ${reason.stack}` : ''
    emit({ event: 'error', shape: null, status: errorStatus(reason), message: `unhandled rejection: ${errorText(reason)}${stack}` })
  })
  process.on('uncaughtException', (err) => {
    emit({ event: 'fatal', message: `uncaught exception: ${errorText(err)}` })
    process.exit(1)
  })
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (chunk) => {
    buf += chunk
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim()
      buf = buf.slice(i + 1)
      if (!line) continue
      let msg
      try {
        msg = JSON.parse(line)
      } catch (err) {
        emit({ event: 'fatal', message: `bad command ${line}: ${errorText(err)}` })
        continue
      }
      const h = handlers[msg.cmd]
      if (!h) {
        emit({ event: 'result', id: msg.id, ok: false, error: `unknown command ${msg.cmd}`, status: null })
        continue
      }
      Promise.resolve()
        .then(() => h(msg))
        .then(
          (value) => emit({ event: 'result', id: msg.id, ok: true, value: value === undefined ? null : value }),
          (err) => emit({ event: 'result', id: msg.id, ok: false, error: errorText(err), status: errorStatus(err) }),
        )
    }
  })
  process.stdin.on('end', stop)
  process.stdin.on('close', stop)
  process.stdin.on('error', stop)
  process.stdin.resume()
}
