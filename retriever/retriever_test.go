package retriever

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestRecordID(t *testing.T) {
	const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	tests := []struct {
		name       string
		sha, model string
	}{
		{"typical", sha, "openai/clip-vit-base-patch32"},
		{"other model", sha, "tinyshapes"},
		{"empty", "", ""},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		id := RecordID(tc.sha, tc.model)
		if !uuid.MatchString(id) {
			t.Errorf("%s: RecordID = %q, not a version-5 UUID", tc.name, id)
		}
		if id != RecordID(tc.sha, tc.model) {
			t.Errorf("%s: RecordID is not deterministic", tc.name)
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("%s: RecordID %s collides with %s", tc.name, id, prev)
		}
		seen[id] = tc.name
	}
	// The separator keeps (model, sha) pairs apart.
	if RecordID("bc", "a") == RecordID("c", "ab") {
		t.Error("RecordID does not separate model from hash")
	}
}

func TestMismatchError(t *testing.T) {
	err := error(&MismatchError{Store: "/idx", Have: Collection{"model-a", 512}, Want: Collection{"model-b", 768}})
	if !errors.Is(err, ErrModelMismatch) {
		t.Error("MismatchError does not wrap ErrModelMismatch")
	}
	for _, want := range []string{"/idx", "model-a", "model-b", "512", "768"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not name %q", err, want)
		}
	}
}
