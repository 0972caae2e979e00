package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/galvani-sync/galvani/internal/pg"
)

// Defaults for Config fields left zero.
const (
	DefaultStatusInterval = 10 * time.Second
	DefaultMinBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
)

// State is where the stream is in its life.
type State int32

// The states of a Stream.
const (
	StateStarting State = iota
	StateWaiting        // waiting for the advisory lock another instance holds
	StateStreaming
)

// String names the state as /v1/health reports it.
func (s State) String() string {
	switch s {
	case StateWaiting:
		return "waiting"
	case StateStreaming:
		return "active"
	default:
		return "starting"
	}
}

// Config configures a Stream.
type Config struct {
	// URL is the connection string (DATABASE_URL); replication=database
	// is added.
	URL         string
	Slot        string
	Publication string
	// StatusInterval is how often a standby status update is sent even when
	// nothing changed; zero means DefaultStatusInterval.
	StatusInterval time.Duration
	// MinBackoff and MaxBackoff bound the reconnect delay (exponential, with
	// jitter). Zero means the defaults.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
}

// Stream is a replication connection that reconnects until its context ends.
type Stream struct {
	cfg      Config
	log      *slog.Logger
	state    atomic.Int32
	received atomic.Uint64 // WAL data bytes received
	started  chan struct{} // closed once the slot and publication first exist
	once     sync.Once

	mu      sync.Mutex
	lastErr error
}

// New returns a Stream; call Run to start it.
func New(cfg Config) *Stream {
	if cfg.StatusInterval == 0 {
		cfg.StatusInterval = DefaultStatusInterval
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Stream{cfg: cfg, log: log.With("subsystem", "replication"), started: make(chan struct{})}
}

// Started is closed once the stream has set up its slot and publication
// for the first time: shapes created before that could be invalidated by
// the publication's creation.
func (s *Stream) Started() <-chan struct{} { return s.started }

// ReceivedBytes returns the bytes of WAL data received so far.
func (s *Stream) ReceivedBytes() uint64 { return s.received.Load() }

// State returns the stream's current state.
func (s *Stream) State() State { return State(s.state.Load()) }

// LastError returns the error that ended the previous connection, if any.
func (s *Stream) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// Run streams into sink until ctx ends, reconnecting with capped
// exponential backoff after connection failures. It returns ctx's error, or
// a permanent error (configuration, or an error from the sink).
func (s *Stream) Run(ctx context.Context, sink Sink) error {
	backoff := s.cfg.MinBackoff
	for {
		connected, err := s.runOnce(ctx, sink)
		s.state.Store(int32(StateStarting))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var sinkErr *sinkError
		if errors.As(err, &sinkErr) {
			return sinkErr.err
		}
		if isPermanent(err) {
			return err
		}
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
		if resetErr := sink.Handle(ctx, Event{Kind: EventReset}); resetErr != nil {
			return resetErr
		}
		if connected {
			backoff = s.cfg.MinBackoff
		}
		// Full jitter over [backoff/2, backoff].
		d := backoff/2 + rand.N(backoff/2+1)
		s.log.Warn("replication connection lost; reconnecting", "error", err, "retry_in", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, s.cfg.MaxBackoff)
	}
}

// sinkError marks an error returned by the sink: it ends Run.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// PermanentError is a failure that retrying cannot fix (bad configuration,
// missing permission); Run returns it.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

func isPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// replicationURL adds replication=database to a URL or keyword/value string.
func replicationURL(url string) string {
	if strings.Contains(url, "://") {
		if strings.Contains(url, "?") {
			return url + "&replication=database"
		}
		return url + "?replication=database"
	}
	return url + " replication=database"
}

// runOnce connects, sets up and streams until an error. connected reports
// whether streaming started, which resets the backoff.
func (s *Stream) runOnce(ctx context.Context, sink Sink) (connected bool, err error) {
	conn, err := pgconn.Connect(ctx, replicationURL(s.cfg.URL))
	if err != nil {
		return false, fmt.Errorf("connect for replication: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()

	ident, err := pglogrepl.IdentifySystem(ctx, conn)
	if err != nil {
		return false, fmt.Errorf("identify system: %w", err)
	}
	// One instance streams from a slot at a time; another waits here.
	s.state.Store(int32(StateWaiting))
	if err := exec(ctx, conn, "SELECT pg_advisory_lock(hashtext("+quoteLiteral(s.cfg.Slot)+"))"); err != nil {
		return false, fmt.Errorf("take replication lock: %w", err)
	}
	s.state.Store(int32(StateStarting))
	pubCreated, err := s.ensurePublication(ctx, conn)
	if err != nil {
		return false, err
	}
	slotCreated, err := s.ensureSlot(ctx, conn)
	if err != nil {
		return false, err
	}
	// A new slot starts at the current WAL position and a new publication
	// holds no table: whatever happened before is lost to every shape.
	if pubCreated || slotCreated {
		reason := "replication slot created"
		if pubCreated {
			reason = "publication created"
		}
		if err := sink.Handle(ctx, Event{Kind: EventInvalidateAll, Reason: reason}); err != nil {
			return false, &sinkError{err}
		}
	}
	for name, value := range DisplaySettings() {
		if err := exec(ctx, conn, "SET "+name+" = "+quoteLiteral(value)); err != nil {
			return false, fmt.Errorf("set %s: %w", name, err)
		}
	}
	startLSN, err := s.confirmedFlush(ctx, conn)
	if err != nil {
		return false, err
	}
	err = pglogrepl.StartReplication(ctx, conn, s.cfg.Slot, 0, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names " + quoteLiteral(s.cfg.Publication)},
	})
	if err != nil {
		return false, fmt.Errorf("start replication: %w", err)
	}
	s.state.Store(int32(StateStreaming))
	s.once.Do(func() { close(s.started) })
	s.log.Info("replication started", "slot", s.cfg.Slot, "publication", s.cfg.Publication, "from", startLSN)
	if err := sink.Handle(ctx, Event{Kind: EventStart, StartLSN: startLSN, SystemID: ident.SystemID, Timeline: ident.Timeline}); err != nil {
		return true, &sinkError{err}
	}
	return true, s.stream(ctx, conn, sink, startLSN)
}

func (s *Stream) ensurePublication(ctx context.Context, conn *pgconn.PgConn) (created bool, err error) {
	res, err := conn.Exec(ctx, "SELECT 1 FROM pg_publication WHERE pubname = "+quoteLiteral(s.cfg.Publication)).ReadAll()
	if err != nil {
		return false, fmt.Errorf("look up publication: %w", err)
	}
	if len(res) > 0 && len(res[0].Rows) > 0 {
		return false, nil
	}
	err = exec(ctx, conn, "CREATE PUBLICATION "+pg.QuoteIdent(s.cfg.Publication)+" WITH (publish_via_partition_root = true)")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42710" { // created concurrently
		return false, nil
	}
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		return false, &PermanentError{fmt.Errorf("create publication %s: the role lacks CREATE on the database (GRANT CREATE ON DATABASE … TO the role): %w", s.cfg.Publication, err)}
	}
	if err != nil {
		return false, fmt.Errorf("create publication: %w", err)
	}
	s.log.Info("created publication", "publication", s.cfg.Publication)
	return true, nil
}

func (s *Stream) ensureSlot(ctx context.Context, conn *pgconn.PgConn) (created bool, err error) {
	// A slot invalidated for retaining too much WAL (max_slot_wal_keep_size)
	// can no longer stream: drop it and start over.
	res, err := conn.Exec(ctx, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = "+quoteLiteral(s.cfg.Slot)).ReadAll()
	if err != nil {
		return false, fmt.Errorf("look up replication slot: %w", err)
	}
	if len(res) > 0 && len(res[0].Rows) > 0 && string(res[0].Rows[0][0]) == "lost" {
		s.log.Warn("replication slot was invalidated by Postgres; recreating it", "slot", s.cfg.Slot)
		if err := exec(ctx, conn, "DROP_REPLICATION_SLOT "+s.cfg.Slot+" WAIT"); err != nil {
			return false, fmt.Errorf("drop invalidated replication slot: %w", err)
		}
	}
	_, err = pglogrepl.CreateReplicationSlot(ctx, conn, s.cfg.Slot, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "NOEXPORT_SNAPSHOT"})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42710" {
		return false, nil // exists: reuse it
	}
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		return false, &PermanentError{fmt.Errorf("create replication slot: the role lacks the REPLICATION attribute (ALTER ROLE … WITH REPLICATION): %w", err)}
	}
	if err != nil {
		return false, fmt.Errorf("create replication slot: %w", err)
	}
	s.log.Info("created replication slot", "slot", s.cfg.Slot)
	return true, nil
}

func (s *Stream) confirmedFlush(ctx context.Context, conn *pgconn.PgConn) (pg.LSN, error) {
	res, err := conn.Exec(ctx, "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = "+quoteLiteral(s.cfg.Slot)).ReadAll()
	if err != nil {
		return 0, fmt.Errorf("read slot position: %w", err)
	}
	if len(res) == 0 || len(res[0].Rows) == 0 || res[0].Rows[0][0] == nil {
		return 0, fmt.Errorf("read slot position: slot %s not found", s.cfg.Slot)
	}
	return pg.ParseLSN(string(res[0].Rows[0][0]))
}

// stream is the receive loop: decode, hand to the sink, acknowledge.
func (s *Stream) stream(ctx context.Context, conn *pgconn.PgConn, sink Sink, startLSN pg.LSN) error {
	var (
		dec           decoder
		received      = startLSN
		idleAck       = startLSN // acknowledged while idle (keepalive wal_end)
		lastCommitEnd = startLSN // end of the last transaction handed over
		inTxn         bool
		lastSent      pg.LSN
		nextStatus    = time.Now().Add(s.cfg.StatusInterval)
	)
	ackPos := func() pg.LSN { return max(sink.Flushed(), idleAck) }
	sendStatus := func() error {
		ack := ackPos()
		err := pglogrepl.SendStandbyStatusUpdate(ctx, conn, pglogrepl.StandbyStatusUpdate{
			WALWritePosition: pglogrepl.LSN(max(received, ack)),
			WALFlushPosition: pglogrepl.LSN(ack),
			WALApplyPosition: pglogrepl.LSN(ack),
		})
		if err != nil {
			return fmt.Errorf("send standby status: %w", err)
		}
		lastSent = ack
		nextStatus = time.Now().Add(s.cfg.StatusInterval)
		return nil
	}
	// Acknowledge promptly once the sink has made new data durable, without
	// waiting for the status interval: Postgres can then recycle WAL sooner.
	const ackPoll = 100 * time.Millisecond
	// Receives wake up at least every ackPoll through a read deadline on
	// the connection, set when the previous one has passed, rather than
	// a deadline context per message: that cost a timer, a context and a
	// watcher registration for every message (9% of the stream's CPU).
	// A read timeout leaves the connection usable; ctx is checked on each.
	netConn := conn.Conn()
	defer netConn.SetReadDeadline(time.Time{})
	var readDeadline time.Time
	for {
		now := time.Now()
		if now.After(nextStatus) || ackPos() > lastSent {
			if err := sendStatus(); err != nil {
				return err
			}
		}
		if !now.Before(readDeadline) {
			readDeadline = nextStatus
			if t := now.Add(ackPoll); t.Before(readDeadline) {
				readDeadline = t
			}
			if err := netConn.SetReadDeadline(readDeadline); err != nil {
				return fmt.Errorf("set read deadline: %w", err)
			}
		}
		if ctx.Err() != nil {
			sendStatus()
			return ctx.Err()
		}
		raw, err := conn.ReceiveMessage(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				// Shutting down: tell Postgres how far everything is
				// durable before the connection closes.
				sendStatus()
				return ctx.Err()
			}
			if pgconn.Timeout(err) {
				continue
			}
			return fmt.Errorf("receive: %w", err)
		}
		switch msg := raw.(type) {
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("replication stream: %w", pgconn.ErrorResponseToPgError(msg))
		case *pgproto3.CopyData:
			if len(msg.Data) == 0 {
				continue
			}
			switch msg.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(msg.Data[1:])
				if err != nil {
					return fmt.Errorf("parse keepalive: %w", err)
				}
				walEnd := pg.LSN(ka.ServerWALEnd)
				received = max(received, walEnd)
				// Idle and fully flushed: nothing before wal_end is owed to
				// any shape, so the slot may advance past unrelated WAL.
				if !inTxn && sink.Flushed() >= lastCommitEnd && walEnd > idleAck {
					idleAck = walEnd
				}
				if ka.ReplyRequested {
					if err := sendStatus(); err != nil {
						return err
					}
				}
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(msg.Data[1:])
				if err != nil {
					return fmt.Errorf("parse xlogdata: %w", err)
				}
				received = max(received, pg.LSN(xld.WALStart)+pg.LSN(len(xld.WALData)))
				s.received.Add(uint64(len(xld.WALData)))
				ev, err := dec.decode(xld.WALData)
				if err != nil {
					return &PermanentError{fmt.Errorf("decode pgoutput: %w", err)}
				}
				for _, e := range ev {
					switch e.Kind {
					case EventBegin:
						inTxn = true
					case EventCommit:
						inTxn = false
						lastCommitEnd = e.EndLSN
					}
					if err := sink.Handle(ctx, e); err != nil {
						return &sinkError{err}
					}
				}
			}
		default:
			// Notices and the like: nothing to do.
		}
	}
}

func exec(ctx context.Context, conn *pgconn.PgConn, sql string) error {
	_, err := conn.Exec(ctx, sql).ReadAll()
	return err
}

// quoteLiteral quotes s as an SQL string literal. The replication protocol's
// simple queries take no bind parameters, so names are quoted here; they
// come from configuration, not from requests.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
