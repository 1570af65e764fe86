package qdrant

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	qc "github.com/qdrant/go-client/qdrant"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/fulltext"
)

// Payload field names. Each point's payload holds the retriever.Payload
// fields under their JSON names, plus "folders": the record's folder and all
// its ancestors, which FolderPrefix filters match (Qdrant has no prefix match
// on keyword indexes). Times are RFC 3339 strings in UTC with nanoseconds.
// A path or folder that is not UTF-8 (Qdrant stores UTF-8 strings only) is
// stored as retriever.EncodePath's text, which keyword filters match
// exactly, with its bytes in base64 under "path_raw" or "folder_raw".
const (
	fPath      = "path"
	fSHA256    = "sha256"
	fSize      = "size"
	fModTime   = "mtime"
	fWidth     = "width"
	fHeight    = "height"
	fFormat    = "format"
	fFolder    = "folder"
	fFolders   = "folders"
	fTags      = "tags"
	fTagLabel  = "tags[].label" // key path of the tag labels, for indexes and filters
	fIndexedAt = "indexed_at"
	fModel     = "model"
	fTagSet    = "tag_set"
	fPathRaw   = "path_raw"     // base64 of Path's bytes when Path is not UTF-8
	fFolderRaw = "folder_raw"   // the same for Folder
	fText      = "text"         // the lines read in the image: {text, confidence, box: [[x, y] ×4]}
	fTextNorm  = "text_search"  // the lines' text as package fulltext normalises it, one per line: the full-text index's field
	fTextNums  = "text_numbers" // the numbers among the text's terms (keywords): Qdrant's multilingual tokenizer drops them
	fTextBy    = "text_by"
)

// ancestors returns folder and every folder above it, cleaned:
// "/a/b" → ["/a/b", "/a", "/"].
func ancestors(folder string) []string {
	if folder == "" {
		return nil
	}
	f := filepath.Clean(folder)
	out := []string{f}
	for {
		p := filepath.Dir(f)
		if p == f || p == "." {
			return out
		}
		out = append(out, p)
		f = p
	}
}

// normFolderPrefix cleans a FolderPrefix the way ancestors cleans folders;
// filepath.Clean also drops a trailing separator.
func normFolderPrefix(p string) string {
	return filepath.Clean(p)
}

// checkUTF8 returns an error naming field when s is not valid UTF-8, which
// Qdrant (protobuf strings) cannot store.
func checkUTF8(id, field, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("record %s: %s %q is not valid UTF-8, which Qdrant cannot store", id, field, s)
	}
	return nil
}

// toPoint converts a record to a Qdrant point.
func toPoint(r retriever.Record) (*qc.PointStruct, error) {
	p := r.Payload
	for _, f := range []struct{ name, v string }{
		{fSHA256, p.SHA256}, {fFormat, p.Format}, {fModel, p.Model}, {fTagSet, p.TagSet},
	} {
		if err := checkUTF8(r.ID, f.name, f.v); err != nil {
			return nil, err
		}
	}
	tags := make([]*qc.Value, 0, len(p.Tags))
	for _, t := range p.Tags {
		if err := checkUTF8(r.ID, "tag", t.Label); err != nil {
			return nil, err
		}
		tags = append(tags, qc.NewValueFromFields(map[string]*qc.Value{
			"label": qc.NewValueString(t.Label),
			"score": qc.NewValueDouble(float64(t.Score)),
		}))
	}
	anc := ancestors(p.Folder)
	folders := make([]*qc.Value, len(anc))
	for i, a := range anc {
		folders[i] = qc.NewValueString(retriever.PathKey(a))
	}
	path, pathRaw := retriever.EncodePath(p.Path)
	folder, folderRaw := retriever.EncodePath(p.Folder)
	payload := map[string]*qc.Value{
		fPath:      qc.NewValueString(path),
		fSHA256:    qc.NewValueString(p.SHA256),
		fSize:      qc.NewValueInt(p.Size),
		fModTime:   qc.NewValueString(formatTime(p.ModTime)),
		fWidth:     qc.NewValueInt(int64(p.Width)),
		fHeight:    qc.NewValueInt(int64(p.Height)),
		fFormat:    qc.NewValueString(p.Format),
		fFolder:    qc.NewValueString(folder),
		fFolders:   qc.NewValueFromList(folders...),
		fTags:      qc.NewValueFromList(tags...),
		fIndexedAt: qc.NewValueString(formatTime(p.IndexedAt)),
		fModel:     qc.NewValueString(p.Model),
	}
	if p.TagSet != "" {
		payload[fTagSet] = qc.NewValueString(p.TagSet)
	}
	if p.TextBy != "" {
		if err := checkUTF8(r.ID, fTextBy, p.TextBy); err != nil {
			return nil, err
		}
		payload[fTextBy] = qc.NewValueString(p.TextBy)
	}
	if len(p.Text) > 0 {
		lines, err := textValue(r.ID, p.Text)
		if err != nil {
			return nil, err
		}
		payload[fText] = lines
		norm := make([]string, len(p.Text))
		for i, l := range p.Text {
			norm[i] = fulltext.Normalize(l.Text)
		}
		payload[fTextNorm] = qc.NewValueString(strings.Join(norm, "\n"))
		if nums := numbers(p.Text); len(nums) > 0 {
			payload[fTextNums] = qc.NewValueFromList(nums...)
		}
	}
	if pathRaw != nil {
		payload[fPathRaw] = qc.NewValueString(base64.StdEncoding.EncodeToString(pathRaw))
	}
	if folderRaw != nil {
		payload[fFolderRaw] = qc.NewValueString(base64.StdEncoding.EncodeToString(folderRaw))
	}
	return &qc.PointStruct{
		Id:      qc.NewIDUUID(r.ID),
		Vectors: qc.NewVectorsDense(r.Vector),
		Payload: payload,
	}, nil
}

// textValue encodes OCR lines as a list of {text, confidence, box}.
func textValue(id string, text []retriever.TextLine) (*qc.Value, error) {
	lines := make([]*qc.Value, len(text))
	for i, l := range text {
		if err := checkUTF8(id, "text", l.Text); err != nil {
			return nil, err
		}
		box := make([]*qc.Value, len(l.Box))
		for j, pt := range l.Box {
			box[j] = qc.NewValueFromList(qc.NewValueInt(int64(pt[0])), qc.NewValueInt(int64(pt[1])))
		}
		lines[i] = qc.NewValueFromFields(map[string]*qc.Value{
			"text":       qc.NewValueString(l.Text),
			"confidence": qc.NewValueDouble(float64(l.Confidence)),
			"box":        qc.NewValueFromList(box...),
		})
	}
	return qc.NewValueFromList(lines...), nil
}

// textLines decodes textValue's output; malformed entries decode as far
// as they go.
func textLines(v *qc.Value) []retriever.TextLine {
	vals := v.GetListValue().GetValues()
	if len(vals) == 0 {
		return nil
	}
	out := make([]retriever.TextLine, len(vals))
	for i, lv := range vals {
		f := lv.GetStructValue().GetFields()
		out[i].Text = f["text"].GetStringValue()
		out[i].Confidence = float32(numValue(f["confidence"]))
		for j, pv := range f["box"].GetListValue().GetValues() {
			if j >= len(out[i].Box) {
				break
			}
			if xy := pv.GetListValue().GetValues(); len(xy) == 2 {
				out[i].Box[j] = [2]int{int(intValue(xy[0])), int(intValue(xy[1]))}
			}
		}
	}
	return out
}

// formatTime encodes t as RFC 3339 in UTC with nanoseconds; the zero time
// becomes "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parseTime decodes formatTime's output; "" and garbage become the zero time.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// fromPayload decodes a point payload. Missing fields stay zero.
func fromPayload(m map[string]*qc.Value) retriever.Payload {
	p := retriever.Payload{
		Path:      rawString(m[fPath], m[fPathRaw]),
		SHA256:    m[fSHA256].GetStringValue(),
		Size:      intValue(m[fSize]),
		ModTime:   parseTime(m[fModTime].GetStringValue()),
		Width:     int(intValue(m[fWidth])),
		Height:    int(intValue(m[fHeight])),
		Format:    m[fFormat].GetStringValue(),
		Folder:    rawString(m[fFolder], m[fFolderRaw]),
		IndexedAt: parseTime(m[fIndexedAt].GetStringValue()),
		Model:     m[fModel].GetStringValue(),
		TagSet:    m[fTagSet].GetStringValue(),
		TextBy:    m[fTextBy].GetStringValue(),
		Text:      textLines(m[fText]),
	}
	for _, v := range m[fTags].GetListValue().GetValues() {
		f := v.GetStructValue().GetFields()
		p.Tags = append(p.Tags, retriever.Tag{
			Label: f["label"].GetStringValue(),
			Score: float32(numValue(f["score"])),
		})
	}
	return p
}

// rawString decodes a string stored by retriever.EncodePath: the bytes in
// raw (base64) when present and valid, else text.
func rawString(text, raw *qc.Value) string {
	var b []byte
	if s := raw.GetStringValue(); s != "" {
		if d, err := base64.StdEncoding.DecodeString(s); err == nil {
			b = d
		}
	}
	return retriever.DecodePath(text.GetStringValue(), b)
}

// intValue reads an integer that JSON clients may have stored as a double.
func intValue(v *qc.Value) int64 {
	if _, ok := v.GetKind().(*qc.Value_DoubleValue); ok {
		return int64(v.GetDoubleValue())
	}
	return v.GetIntegerValue()
}

// numValue reads a number stored as a double or an integer.
func numValue(v *qc.Value) float64 {
	if _, ok := v.GetKind().(*qc.Value_IntegerValue); ok {
		return float64(v.GetIntegerValue())
	}
	return v.GetDoubleValue()
}

// toFilter converts a retriever.Filter to a Qdrant filter, nil when it
// matches everything. MinScore is not part of it (it is the query's
// score_threshold).
func toFilter(f retriever.Filter) *qc.Filter {
	var must []*qc.Condition
	if len(f.AnyTags) > 0 {
		must = append(must, qc.NewMatchKeywords(fTagLabel, f.AnyTags...))
	}
	for _, t := range f.AllTags {
		must = append(must, qc.NewMatchKeyword(fTagLabel, t))
	}
	if f.FolderPrefix != "" {
		must = append(must, qc.NewMatchKeyword(fFolders, retriever.PathKey(normFolderPrefix(f.FolderPrefix))))
	}
	if len(must) == 0 {
		return nil
	}
	return &qc.Filter{Must: must}
}

// canonicalID returns id in Qdrant's canonical UUID form (lower-case,
// hyphenated), or false when id is not a UUID.
func canonicalID(id string) (string, bool) {
	if len(id) != 36 {
		return "", false
	}
	b := []byte(strings.ToLower(id))
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return "", false
			}
		}
	}
	return string(b), true
}
