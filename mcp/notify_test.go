package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestProgressHeartbeat: a call that runs 2.3 s without finishing a unit
// of work still gets a notification at least every second, each value
// higher than the last and below the next whole unit, then a final one.
func TestProgressHeartbeat(t *testing.T) {
	var out bytes.Buffer
	w := &lineWriter{w: &out, d: &drain{pending: map[string]int{}, changed: make(chan struct{}, 1)}}
	ctx := context.WithValue(context.Background(), directKey{}, w)
	h := &handlers{}
	h.opts.fill()
	p := h.startProgress(ctx, "hb")
	p.files(0, 3)
	time.Sleep(1100 * time.Millisecond)
	p.files(1, 3)
	time.Sleep(1200 * time.Millisecond)
	p.finish()
	var vals []float64
	var last map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var n struct {
			Method string         `json:"method"`
			Params map[string]any `json:"params"`
		}
		if err := json.Unmarshal([]byte(line), &n); err != nil || n.Method != "notifications/progress" || n.Params["progressToken"] != "hb" {
			t.Fatalf("line %q", line)
		}
		vals = append(vals, n.Params["progress"].(float64))
		last = n.Params
	}
	if len(vals) < 3 {
		t.Fatalf("%d notifications in 2.3 s: %v", len(vals), vals)
	}
	for i := 1; i < len(vals); i++ {
		if vals[i] <= vals[i-1] {
			t.Errorf("progress %v is not increasing", vals)
		}
	}
	if last["progress"] != 3.0 || last["total"] != 3.0 {
		t.Errorf("final notification %v, want 3 of 3", last)
	}
	// Between the file done at 1.1 s and the end, a heartbeat kept 1 < v < 2.
	beat := false
	for _, v := range vals {
		beat = beat || (v > 1 && v < 2)
	}
	if !beat {
		t.Errorf("no heartbeat while file 2 was in progress: %v", vals)
	}
}
