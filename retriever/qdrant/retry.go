package qdrant

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	qc "github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Backoff bounds for retries: the first wait is about retryBase, each next
// wait doubles, none exceeds retryCap. Waits are drawn with full jitter.
const (
	retryBase = 100 * time.Millisecond
	retryCap  = 3 * time.Second
)

// retryable reports whether err is a transient failure worth retrying:
// gRPC codes Unavailable, DeadlineExceeded and ResourceExhausted. It also
// returns the server's retry-after hint, if any.
func retryable(err error) (bool, time.Duration) {
	var re *qc.QdrantResourceExhaustedError
	if errors.As(err, &re) {
		return true, time.Duration(re.RetryAfterS) * time.Second
	}
	st, ok := status.FromError(err)
	if !ok {
		return false, 0
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return true, 0
	}
	return false, 0
}

// isUnavailable reports whether err says the server could not be reached.
func isUnavailable(err error) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.Unavailable
}

// do runs one call with the per-attempt timeout, retrying transient failures
// with exponential backoff and jitter until it succeeds, fails for good, ctx
// ends or the retry budget (Config.RetryTimeout) is spent. op names the
// operation in errors. The call must be idempotent.
func (s *Store) do(ctx context.Context, op string, call func(ctx context.Context) error) error {
	return s.retry(ctx, op, s.cfg.RetryTimeout, call)
}

// retry is do with the retry budget given.
func (s *Store) retry(ctx context.Context, op string, budget time.Duration, call func(ctx context.Context) error) error {
	start := time.Now()
	wait := retryBase
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		err := call(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("qdrant %s %s: %w", op, s, ctx.Err())
		}
		ok, hint := retryable(err)
		if !ok {
			return fmt.Errorf("qdrant %s %s: %w", op, s, err)
		}
		// Full jitter: sleep a random time in [wait/2, wait].
		d := wait/2 + rand.N(wait/2+1)
		if hint > d {
			d = hint
		}
		if time.Since(start)+d > budget {
			if isUnavailable(err) {
				return &UnreachableError{Addr: s.addr, Op: op, Attempts: attempt, Err: err}
			}
			return fmt.Errorf("qdrant %s %s: giving up after %d attempts in %s: %w",
				op, s, attempt, time.Since(start).Round(time.Millisecond), err)
		}
		if s.cfg.OnRetry != nil {
			s.cfg.OnRetry(op, attempt, d, err)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("qdrant %s %s: %w (last error: %v)", op, s, ctx.Err(), err)
		case <-t.C:
		}
		wait = min(wait*2, retryCap)
	}
}

// UnreachableError reports that the Qdrant server could not be reached.
// Its message names the address and says how to start Qdrant.
type UnreachableError struct {
	Addr     string // host:port of the gRPC endpoint
	Op       string // what cliprag was doing
	Attempts int    // how many times it tried
	Err      error  // the last transport error
}

func (e *UnreachableError) Error() string {
	hint := ""
	if strings.HasSuffix(e.Addr, ":6333") {
		hint = " (6333 is Qdrant's HTTP port; cliprag speaks gRPC, by default on 6334)"
	}
	if e.Err != nil && strings.Contains(e.Err.Error(), "tls:") {
		hint += " (TLS handshake failed: use qdrant:// for a server without TLS, qdrants:// for one with it)"
	}
	return fmt.Sprintf("cannot reach Qdrant at %s%s for %s after %d attempts: %v; "+
		"start Qdrant (docker run -p 6333:6333 -p 6334:6334 qdrant/qdrant, a managed cluster, "+
		"or scripts/qdrant.sh start in a cliprag checkout) or point --store / CLIPRAG_STORE at a running server",
		e.Addr, hint, e.Op, e.Attempts, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }
