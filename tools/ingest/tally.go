package ingest

// outcome is what became of one file (or record) in the pipeline.
type outcome int

const (
	indexed   outcome = iota // embedded and written
	updated                  // written with the vector it had: a touched or moved file
	retagged                 // an unchanged file's record written with new tags
	duplicate                // the same content as another file; nothing written
	failed                   // could not be read or decoded
)

// event tells the tally what became of one file. Stages send events; they
// never count anything themselves.
type event struct {
	outcome outcome
	path    string
	id      string   // the record written (indexed, updated, retagged) or matched (duplicate)
	old     []string // duplicate: ids of the records at path before the run
	reason  string   // failed: why
	preview bool     // indexed: read through its embedded JPEG preview
	text    bool     // indexed, updated: its text was read (OCR) in this run
	lines   int      // text: the lines found
	skipped int      // text: the boxes found but not read
}

// tally is the one owner of a run's counts while the pipeline runs: a
// single goroutine adds every event to it.
type tally struct {
	indexed, updated, retagged, duplicates int
	failed                                 []Failure
	previews                               []string // files indexed through their embedded JPEG preview
	textRead, textLines, textSkipped       int      // files whose text was read, the lines found, the boxes not read

	rewritten map[string]bool // ids of records written with the vector they had (perhaps now at another path)
	// replaced are the ids of the records at paths that turned out to hold
	// duplicates: their content is gone from there. (A written record
	// replaces the others at its path itself: Store.Upsert.)
	replaced []string
}

func newTally() *tally { return &tally{rewritten: map[string]bool{}} }

// add counts e.
func (t *tally) add(e event) {
	if e.text {
		t.textRead++
		t.textLines += e.lines
		t.textSkipped += e.skipped
	}
	switch e.outcome {
	case indexed:
		t.indexed++
		if e.preview {
			t.previews = append(t.previews, e.path)
		}
	case updated:
		t.updated++
		t.rewritten[e.id] = true
	case retagged:
		t.retagged++
	case duplicate:
		t.duplicates++
	case failed:
		t.failed = append(t.failed, Failure{Path: e.path, Reason: e.reason})
		return
	}
	if e.outcome != duplicate {
		return
	}
	for _, id := range e.old {
		if id != e.id {
			t.replaced = append(t.replaced, id)
		}
	}
}

// done is how many files have reached their outcome.
func (t *tally) done() int {
	return t.indexed + t.updated + t.retagged + t.duplicates + len(t.failed)
}

// leftovers returns the ids of the records at duplicates' paths, without
// those the run wrote again (at another path).
func (t *tally) leftovers() []string {
	var ids []string
	seen := map[string]bool{}
	for _, id := range t.replaced {
		if !t.rewritten[id] && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}
