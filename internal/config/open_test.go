package config

import (
	"context"
	"flag"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
)

func TestUseIndexModel(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		args    []string // flags
		indexed string   // the model the index was built with; "" for a new index
		want    string   // Model after UseIndexModel
		err     string
	}{
		{"new index keeps the default", nil, "", embed.DefaultModel, ""},
		{"index decides", nil, "tiny-shapes", "tiny-shapes", ""},
		{"given model wins", []string{"-model", "clip-vit-b-16"}, "tiny-shapes", "clip-vit-b-16", ""},
		{"directory model must be given", nil, "my-clip@0123abcd", embed.DefaultModel, `"my-clip@0123abcd", which is not a registry model`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CLIPRAG_MODEL", "")
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			c := Flags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := c.Resolve(fs); err != nil {
				t.Fatal(err)
			}
			st := local.OpenMemory(nil)
			defer st.Close()
			if tt.indexed != "" {
				if err := st.Ensure(ctx, retriever.Collection{Model: tt.indexed, Dim: 4}); err != nil {
					t.Fatal(err)
				}
			}
			err := c.UseIndexModel(ctx, st)
			if (err != nil) != (tt.err != "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if c.Model != tt.want {
				t.Errorf("Model = %q, want %q", c.Model, tt.want)
			}
		})
	}
}
