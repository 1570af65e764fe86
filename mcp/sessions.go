package mcp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/cliprag/cliprag/tools"
)

// Session limits of the streamable HTTP transport.
const (
	DefaultMaxSessions = 100
	DefaultSessionIdle = 30 * time.Minute
)

// SessionLimits bounds streamable HTTP sessions: past Max, new sessions
// are refused (503) until one ends or expires; a session unused for Idle
// expires, and requests naming it get 404, as for a deleted one.
type SessionLimits struct {
	Max  int           // default DefaultMaxSessions
	Idle time.Duration // default DefaultSessionIdle
}

// sessionInfo is what the server keeps per client session.
type sessionInfo struct {
	lastSeen time.Time
	version  string // negotiated protocol version
	roots    bool   // the client offers roots/list
	pinned   bool   // not an HTTP session: never expires
	// rootsRead is set once the client's roots were asked for (and reset
	// when the client says they changed); view is the service scoped to
	// them, nil when they gave none usable.
	rootsRead bool
	view      *tools.Service
}

// sessions is the table of client sessions. It is the streamable HTTP
// transport's session id manager (ids it generated are the only ones
// accepted) and holds per-session state for every transport.
type sessions struct {
	limits SessionLimits
	now    func() time.Time

	mu sync.Mutex
	m  map[string]*sessionInfo
}

func newSessions(l SessionLimits) *sessions {
	if l.Max <= 0 {
		l.Max = DefaultMaxSessions
	}
	if l.Idle <= 0 {
		l.Idle = DefaultSessionIdle
	}
	return &sessions{limits: l, now: time.Now, m: map[string]*sessionInfo{}}
}

// Generate mints a session id for an initialize request over HTTP. At the
// cap, expired sessions are dropped first and then the least recently
// used one (the HTTP gate refuses new sessions before that happens, so
// this is a backstop against a race).
func (s *sessions) Generate() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := "cliprag-" + hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.limits.Max {
		s.sweepLocked()
	}
	if len(s.m) >= s.limits.Max {
		var oldest string
		for k, v := range s.m {
			if !v.pinned && (oldest == "" || v.lastSeen.Before(s.m[oldest].lastSeen)) {
				oldest = k
			}
		}
		delete(s.m, oldest)
	}
	s.m[id] = &sessionInfo{lastSeen: s.now()}
	return id
}

var errUnknownSession = errors.New("unknown session")

// Validate accepts a live session id, and marks it used. An expired one
// is dropped and reported terminated; an unknown one is an error. Both get
// 404 from the transport.
func (s *sessions) Validate(id string) (terminated bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.m[id]
	if !ok {
		return false, errUnknownSession
	}
	if !info.pinned && s.now().Sub(info.lastSeen) > s.limits.Idle {
		delete(s.m, id)
		return true, nil
	}
	info.lastSeen = s.now()
	return false, nil
}

// Terminate ends a session (DELETE, expiry, shutdown).
func (s *sessions) Terminate(id string) (notAllowed bool, err error) {
	s.end(id)
	return false, nil
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// full reports whether a new session would pass the cap, after dropping
// expired ones.
func (s *sessions) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) < s.limits.Max {
		return false
	}
	s.sweepLocked()
	return len(s.m) >= s.limits.Max
}

func (s *sessions) sweepLocked() {
	now := s.now()
	for k, v := range s.m {
		if !v.pinned && now.Sub(v.lastSeen) > s.limits.Idle {
			delete(s.m, k)
		}
	}
}

// count returns the number of sessions held.
func (s *sessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// initialized records what a client said at initialize (an after-
// initialize hook). Sessions of stdio and in-process clients are created
// here; HTTP ones were created by Generate.
func (s *sessions) initialized(ctx context.Context, _ any, req *mcpgo.InitializeRequest, res *mcpgo.InitializeResult) {
	id := sessionID(ctx)
	if id == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.m[id]
	if !ok {
		info = &sessionInfo{lastSeen: s.now(), pinned: true}
		s.m[id] = info
	}
	info.version = res.ProtocolVersion
	info.roots = req.Params.Capabilities.Roots != nil
	info.rootsRead, info.view = false, nil
}

// version returns the protocol version negotiated on a session, or "".
func (s *sessions) version(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if info, ok := s.m[id]; ok {
		return info.version
	}
	return ""
}

// rootsView returns whether the session's client offers roots, whether
// they were read, and the service scoped to them.
func (s *sessions) rootsView(id string) (offers, read bool, view *tools.Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.m[id]
	if !ok {
		return false, false, nil
	}
	return info.roots, info.rootsRead, info.view
}

func (s *sessions) setRootsView(id string, view *tools.Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if info, ok := s.m[id]; ok {
		info.rootsRead, info.view = true, view
	}
}

// rootsChanged forgets a session's roots so the next call reads them again.
func (s *sessions) rootsChanged(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if info, ok := s.m[id]; ok {
		info.rootsRead, info.view = false, nil
	}
}
