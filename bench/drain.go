package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// drainStats is one baseline drain of a replication slot.
type drainStats struct {
	Rows         int
	Elapsed      time.Duration
	FirstByte    time.Duration // when the first change arrived
	WALSenderCPU float64       // CPU seconds of the walsender serving the drain
}

// drainSlot is the replication baseline: a minimal pgoutput consumer
// (pglogrepl, protocol version 1, like Galvani) that starts replication on
// slot, decodes every message and counts inserted rows until it sees the
// commit of a transaction at or after until. It never acknowledges, so the
// slot can be drained again from the same position.
func drainSlot(ctx context.Context, dbURL, slot, publication string, until pglogrepl.LSN) (drainStats, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	if err := waitSlotInactive(ctx, dbURL, slot); err != nil {
		return drainStats{}, err
	}
	start := time.Now()
	conn, err := pgconn.Connect(ctx, dbURL+"&replication=database")
	if err != nil {
		return drainStats{}, fmt.Errorf("drain: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = pglogrepl.StartReplication(ctx, conn, slot, 0, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + publication + "'"},
	})
	if err != nil {
		return drainStats{}, fmt.Errorf("drain: start replication: %w", err)
	}
	var st drainStats
	for {
		msg, err := conn.ReceiveMessage(ctx)
		if err != nil {
			return st, fmt.Errorf("drain: receive: %w", err)
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return st, err
				}
				if ka.ReplyRequested {
					// Position 0 confirms nothing: the slot stays put.
					if err := pglogrepl.SendStandbyStatusUpdate(ctx, conn, pglogrepl.StandbyStatusUpdate{}); err != nil {
						return st, err
					}
				}
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return st, err
				}
				lm, err := pglogrepl.Parse(xld.WALData)
				if err != nil {
					return st, fmt.Errorf("drain: decode: %w", err)
				}
				switch lm := lm.(type) {
				case *pglogrepl.InsertMessage:
					if st.Rows == 0 {
						st.FirstByte = time.Since(start)
					}
					if lm.Tuple != nil {
						st.Rows++
					}
				case *pglogrepl.CommitMessage:
					if lm.CommitLSN >= until {
						st.Elapsed = time.Since(start)
						st.WALSenderCPU = procCPU(slotPID(ctx, dbURL, slot))
						return st, nil
					}
				}
			}
		case *pgproto3.ErrorResponse:
			return st, fmt.Errorf("drain: %w", pgconn.ErrorResponseToPgError(m))
		default:
			return st, fmt.Errorf("drain: unexpected message %T", msg)
		}
	}
}
