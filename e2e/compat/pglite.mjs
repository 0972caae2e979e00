// pglite.mjs — syncs Galvani shapes into an in-process PGlite with
// @electric-sql/pglite-sync, driven over stdin (see lib.mjs).
//
// Usage: node pglite.mjs '<config json>'
//   {"url":"http://127.0.0.1:3000/v1/shape", "secret":"optional",
//    "mode":"single|multi",
//    "tables":[{"name":"items", "ddl":"CREATE TABLE items (…)", "primaryKey":["id"],
//               "params":{"table":"items"}}]}
// mode "single" calls pg.electric.syncShapeToTable once per table; "multi" calls
// pg.electric.syncShapesToTables once with every table (transactional multi-shape sync).
// PGlite's session gets Galvani's display settings (DateStyle ISO, DMY; TimeZone UTC;
// extra_float_digits 1; bytea_output hex; IntervalStyle iso_8601) before anything runs,
// so text read back compares with Postgres's.
//
// Events:
//   {"event":"started"}                         PGlite is up, tables created, sync started
//   {"event":"initial-sync","table":"<name>|*"}  onInitialSync ("*" for the multi form)
//   {"event":"error",…}, {"event":"fetch-failed",…}, {"event":"fatal",…}
//
// Commands (also {"cmd":"requests"} → {"requests":[{"shape","method","url"}]}):
//   {"cmd":"query","sql":"…"} → {"rows":[{col: value}]} (cast columns to text in the SQL
//        to compare exact Postgres text)
//   {"cmd":"status"} → {"upToDate": bool}

import { PGlite } from '@electric-sql/pglite'
import { electricSync } from '@electric-sql/pglite-sync'
import { BackoffDefaults } from '@electric-sql/client'
import { emit, errorStatus, errorText, readConfig, reportingFetch, requests, serve } from './lib.mjs'

const config = readConfig()
const abort = new AbortController()
const subs = []

function shapeOptions(t) {
  const params = { ...(t.params || { table: t.name }) }
  if (config.secret) params.secret = config.secret
  return {
    url: config.url,
    params,
    signal: abort.signal,
    fetchClient: reportingFetch(t.name, abort.signal),
    backoffOptions: { ...BackoffDefaults },
  }
}

let pg
try {
  pg = await PGlite.create({ extensions: { electric: electricSync() } })
  await pg.exec(`SET DateStyle = 'ISO, DMY'; SET TimeZone = 'UTC'; SET extra_float_digits = 1;
                 SET bytea_output = 'hex'; SET IntervalStyle = 'iso_8601';`)
  for (const t of config.tables) await pg.exec(t.ddl)
  const onError = (name) => (err) => emit({ event: 'error', shape: name, status: errorStatus(err), message: errorText(err) })
  if (config.mode === 'multi') {
    const shapes = {}
    for (const t of config.tables) {
      shapes[t.name] = { shape: shapeOptions(t), table: t.name, primaryKey: t.primaryKey }
    }
    subs.push(
      await pg.electric.syncShapesToTables({
        key: null,
        shapes,
        onInitialSync: () => emit({ event: 'initial-sync', table: '*' }),
        onError: onError('*'),
      }),
    )
  } else {
    for (const t of config.tables) {
      subs.push(
        await pg.electric.syncShapeToTable({
          shape: shapeOptions(t),
          table: t.name,
          primaryKey: t.primaryKey,
          shapeKey: null,
          onInitialSync: () => emit({ event: 'initial-sync', table: t.name }),
          onError: onError(t.name),
        }),
      )
    }
  }
} catch (err) {
  emit({ event: 'fatal', message: `setup: ${errorText(err)}` })
  process.exit(1)
}
emit({ event: 'started' })

serve(
  {
    query: async (msg) => {
      const r = await pg.query(msg.sql)
      return { rows: r.rows }
    },
    requests: () => ({ requests }),
    status: () => ({ upToDate: subs.every((s) => s.isUpToDate) }),
  },
  async () => {
    for (const s of subs) {
      try {
        s.unsubscribe()
      } catch {}
    }
    abort.abort()
    try {
      await pg.close()
    } catch {}
  },
)
