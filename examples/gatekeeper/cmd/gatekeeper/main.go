// Command gatekeeper runs the example authenticating proxy of package
// gatekeeper in front of a Galvani server.
//
//	GALVANI_SECRET=… gatekeeper -upstream http://localhost:3000 \
//	    -table items=owner_id -token alice-token=alice -token bob-token=bob
//
// Clients then use http://localhost:8080 as their server URL, with
// "Authorization: Bearer alice-token"; each sees only the rows it owns.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/galvani-sync/galvani/examples/gatekeeper"
)

// pairs is a repeatable key=value flag.
type pairs map[string]string

func (p pairs) String() string { return fmt.Sprint(map[string]string(p)) }

func (p pairs) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" || val == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	p[k] = val
	return nil
}

func main() {
	tokens, tables := pairs{}, pairs{}
	listen := flag.String("listen", "localhost:8080", "address to listen on")
	upstream := flag.String("upstream", "http://localhost:3000", "Galvani server URL")
	flag.Var(tokens, "token", "bearer `token=user` (repeatable)")
	flag.Var(tables, "table", "readable `table=owner_column` (repeatable)")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil {
		log.Fatalf("gatekeeper: -upstream: %v", err)
	}
	h, err := gatekeeper.New(gatekeeper.Config{Upstream: u, Secret: os.Getenv("GALVANI_SECRET"), Tokens: tokens, Tables: tables})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("gatekeeper: serving %s → %s", *listen, u)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
