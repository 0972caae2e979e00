package replication

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultMonitorInterval is how often SlotMonitor reads the slot's state.
const DefaultMonitorInterval = 10 * time.Second

// SlotStats is what SlotMonitor last read about the replication slot.
type SlotStats struct {
	// RetainedBytes is how much WAL Postgres keeps for the slot
	// (pg_current_wal_lsn() - restart_lsn): what a stuck slot costs in disk.
	RetainedBytes int64
	// LagBytes is how far acknowledgement trails the WAL
	// (pg_current_wal_lsn() - confirmed_flush_lsn).
	LagBytes int64
	// Read is when the figures were read; zero before the first read.
	Read time.Time
}

// SlotMonitor watches how much WAL the slot retains and how far behind
// acknowledgement is, and warns above a threshold, so an operator sees a
// stuck slot before Postgres's disk fills.
type SlotMonitor struct {
	pool     *pgxpool.Pool
	slot     string
	warnAt   int64
	interval time.Duration
	log      *slog.Logger
	stats    atomic.Pointer[SlotStats]
}

// NewSlotMonitor returns a monitor of slot that warns when the retained WAL
// exceeds warnAt bytes (0: never).
func NewSlotMonitor(pool *pgxpool.Pool, slot string, warnAt int64, interval time.Duration, log *slog.Logger) *SlotMonitor {
	if interval <= 0 {
		interval = DefaultMonitorInterval
	}
	return &SlotMonitor{pool: pool, slot: slot, warnAt: warnAt, interval: interval, log: log.With("subsystem", "slot-monitor")}
}

// Stats returns the last figures read, and false before the first read.
func (m *SlotMonitor) Stats() (SlotStats, bool) {
	s := m.stats.Load()
	if s == nil {
		return SlotStats{}, false
	}
	return *s, true
}

// Run reads the slot's state every interval until ctx ends.
func (m *SlotMonitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		m.read(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (m *SlotMonitor) read(ctx context.Context) {
	var st SlotStats
	err := m.pool.QueryRow(ctx, `
		SELECT COALESCE(pg_current_wal_lsn() - restart_lsn, 0)::bigint,
		       COALESCE(pg_current_wal_lsn() - confirmed_flush_lsn, 0)::bigint
		  FROM pg_replication_slots WHERE slot_name = $1`, m.slot).Scan(&st.RetainedBytes, &st.LagBytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return // not created yet
	}
	if err != nil {
		if ctx.Err() == nil {
			m.log.Debug("read slot state", "error", err)
		}
		return
	}
	st.Read = time.Now()
	m.stats.Store(&st)
	if m.warnAt > 0 && st.RetainedBytes > m.warnAt {
		m.log.Warn("replication slot retains a lot of WAL; is replication stuck?",
			"slot", m.slot, "retained_bytes", st.RetainedBytes, "lag_bytes", st.LagBytes, "warn_at", m.warnAt)
	}
}
