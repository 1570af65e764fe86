package layout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cliprag/cliprag/embed/preprocess"
)

func TestReadPreprocessor(t *testing.T) {
	clipMean := [3]float32{0.48145466, 0.4578275, 0.40821073}
	tests := []struct {
		file    string
		size    int
		mode    preprocess.Mode
		wantErr string
	}{
		{file: "openai_clip_int.json", size: 224, mode: preprocess.CenterCrop},
		{file: "clip_dict_336.json", size: 336, mode: preprocess.CenterCrop},
		{file: "chinese_clip_nocrop.json", size: 224, mode: preprocess.Squash},
		{file: "chinese_clip_hw.json", size: 224, mode: preprocess.Squash},
		{file: "bad_mean.json", wantErr: "3 values"},
		{file: "resize_then_crop.json", wantErr: "not supported"},
		{file: "non_square.json", wantErr: "non-square"},
		{file: "zero_std.json", wantErr: "image_std[1] is 0"},
		{file: "broken.json", wantErr: "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			dir := t.TempDir()
			b, err := os.ReadFile(filepath.Join("testdata", "preprocessor", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			var l Model
			err = l.readPreprocessor(DirSource(dir))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "preprocessor_config.json") {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Pre.Size != tt.size || l.Pre.Mode != tt.mode || l.Pre.Mean != clipMean {
				t.Errorf("got %+v, want size %d mode %v", l.Pre, tt.size, tt.mode)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want sizeSpec
		err  bool
	}{
		{"", sizeSpec{}, false},
		{"null", sizeSpec{}, false},
		{"224", sizeSpec{shortest: 224}, false},
		{`{"shortest_edge": 336}`, sizeSpec{shortest: 336}, false},
		{`{"height": 224, "width": 224}`, sizeSpec{height: 224, width: 224}, false},
		{`"big"`, sizeSpec{}, true},
	}
	for _, tt := range tests {
		got, err := parseSize([]byte(tt.in))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseSize(%s) = %+v, %v; want %+v, err %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestLogitScaleFromConfig(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		cfg  hfConfig
		want float32
	}{
		{"trained value written by cliprag's script", hfConfig{LogitScale: f(42.5), LogitScaleInit: f(2.6592)}, 42.5},
		{"HF init value is a log", hfConfig{LogitScaleInit: f(2.6592)}, 14.285},
		{"nothing", hfConfig{}, 0},
	}
	for _, tt := range tests {
		l := Model{config: tt.cfg, textConfig: tt.cfg}
		if got := l.LogitScale(); got < tt.want-0.01 || got > tt.want+0.01 {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
