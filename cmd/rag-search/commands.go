package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/local"
	"github.com/cliprag/cliprag/tools"
)

// DefaultTopK is how many images search and similar return by default:
// the tools' default, so rag-search, the MCP server and the agent tools
// agree.
const DefaultTopK = tools.DefaultTopK

// runCmd is a command's body, given its positional arguments.
type runCmd func(ctx context.Context, e *env, pos []string) error

// setup registers a command's flags on fs and returns its body.
type setup func(fs *flag.FlagSet) runCmd

func newCommand(name, args, summary, about string, s setup) *command {
	c := &command{name: name, args: args, summary: summary, about: about}
	c.setup = s
	c.run = func(ctx context.Context, e *env, args []string) error {
		fs := flag.NewFlagSet("rag-search "+name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		body := s(fs)
		pos, err := parseInterleaved(fs, args)
		if errors.Is(err, flag.ErrHelp) {
			c.usage(e.stdout)
			return errHelp
		}
		if err != nil {
			return usageErr("%s: %v (see rag-search help %s)", name, err, name)
		}
		return body(ctx, e, pos)
	}
	return c
}

// parseInterleaved parses flags that come before, between or after the
// positional arguments ("rag-search search red circle --top-k 3"), and
// returns the positional ones. After "--" everything is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usage prints a command's help.
func (c *command) usage(w io.Writer) {
	fs := flag.NewFlagSet("rag-search "+c.name, flag.ContinueOnError)
	c.setup(fs)
	fmt.Fprintf(w, "Usage: rag-search %s [flags] %s\n\n%s\n\nFlags:\n", c.name, c.args, strings.TrimSpace(c.about))
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// filterFlags are search's and similar's flags.
type filterFlags struct {
	*common
	topK     *int
	tags     *string
	allTags  *string
	folder   *string
	minScore *float64
	dir      *string
	grid     *string
	thumb    *int
}

func newFilterFlags(fs *flag.FlagSet) *filterFlags {
	return &filterFlags{
		common:   commonFlags(fs),
		topK:     fs.Int("top-k", DefaultTopK, fmt.Sprintf("how many images to show (1 to %d)", tools.MaxTopK)),
		tags:     fs.String("tags", "", "only images with at least one of these comma-separated tags (stored by rag-ingest --tags)"),
		allTags:  fs.String("all-tags", "", "only images with all of these comma-separated tags"),
		folder:   fs.String("folder", "", "only images in this folder or below it"),
		minScore: fs.Float64("min-score", 0, "leave out images whose cosine similarity is below this (-1 to 1)"),
		dir:      fs.String("dir", "", "search this folder, encoding it now, instead of the index"),
		grid:     fs.String("grid", "", "also write a contact sheet of the query and the results to this PNG file"),
		thumb:    fs.Int("thumb", 224, "thumbnail size in the contact sheet, in pixels"),
	}
}

func (f *filterFlags) filters() (tools.Filters, error) {
	out := tools.Filters{Tags: tools.SplitList(*f.tags), AllTags: tools.SplitList(*f.allTags), MinScore: *f.minScore}
	if *f.folder != "" {
		abs, err := filepath.Abs(*f.folder)
		if err != nil {
			return out, usageErr("--folder %s: %v", *f.folder, err)
		}
		out.Folder = abs
	}
	return out, nil
}

// search is what search and similar share: it checks the flags, opens the
// model and the index (or encodes --dir), runs one search through the tools
// service, prints the hits and writes the contact sheet.
func (f *filterFlags) search(ctx context.Context, e *env, fs *flag.FlagSet, roots []string, allowURLs bool,
	run func(svc *tools.Service, filters tools.Filters) (tools.SearchOutput, error),
	query func(st retriever.Store) queryTile) error {
	if err := f.check(); err != nil {
		return err
	}
	if err := f.cfg.Resolve(fs); err != nil {
		return usageErr("%v", err)
	}
	filters, err := f.filters()
	if err != nil {
		return err
	}
	m, st, err := f.open(ctx, e)
	if err != nil {
		return err
	}
	defer m.Close()
	defer st.Close()
	svc, err := newService(m, st, roots, allowURLs)
	if err != nil {
		return err
	}
	out, err := run(svc, filters)
	if err != nil {
		return serviceErr(err)
	}
	if err := printHits(e, f.common, out); err != nil {
		return err
	}
	if *f.grid != "" {
		return writeGrid(e, f, query(st), out.Hits, m.Name())
	}
	return nil
}

func (f *filterFlags) check() error {
	if *f.topK < 1 || *f.topK > tools.MaxTopK {
		return usageErr("--top-k must be 1 to %d, got %d", tools.MaxTopK, *f.topK)
	}
	if g := *f.grid; g != "" && !strings.EqualFold(filepath.Ext(g), ".png") {
		return usageErr("--grid %s: the contact sheet is a PNG; give a file name ending in .png", g)
	}
	if *f.thumb < 32 || *f.thumb > 1024 {
		return usageErr("--thumb must be 32 to 1024, got %d", *f.thumb)
	}
	return nil
}

// open opens the index and the model it was built with, or the model and
// an in-memory index of --dir.
func (f *filterFlags) open(ctx context.Context, e *env) (*embed.Model, retriever.Store, error) {
	if *f.dir == "" {
		return f.openIndexAndModel(ctx, e)
	}
	m, err := f.openModel(ctx, e, nil)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.encodeDir(ctx, e, m, *f.dir)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, st, nil
}

var searchCmd = newCommand("search", "QUERY",
	"find the images that best match a text",
	`Find the indexed images that best match QUERY (several words need no
quotes). With --dir, search a folder that was never indexed: its images are
encoded now, into memory.

On an index built with rag-ingest --ocr, the text read in the images is
searched too (--mode hybrid, the default there): CLIP's ranking and the
text match are fused, and each hit shows its text, the lines that match
first. --mode clip ranks by CLIP alone, --mode text by the text alone.
--min-score applies to the CLIP score in every mode.

Examples:
  rag-search search "a photo of a red circle"
  rag-search search --top-k 10 --json 顶面构造图
  rag-search search --mode text "fault system overlay map"
  rag-search search --dir examples/shapes --grid sheet.png a blue square`,
	func(fs *flag.FlagSet) runCmd {
		f := newFilterFlags(fs)
		mode := fs.String("mode", "", "ranking: clip (what the images show), text (the text read in them; indexes built with rag-ingest --ocr) or hybrid (both; the default on such indexes, else clip)")
		return func(ctx context.Context, e *env, pos []string) error {
			query := strings.TrimSpace(strings.Join(pos, " "))
			if query == "" {
				return usageErr("search: no QUERY given (try: rag-search search \"a red circle\")")
			}
			return f.search(ctx, e, fs, nil, false,
				func(svc *tools.Service, filters tools.Filters) (tools.SearchOutput, error) {
					return svc.SearchImages(ctx, tools.SearchInput{Query: query, TopK: *f.topK, Filters: filters, Mode: *mode})
				},
				func(retriever.Store) queryTile { return queryTile{text: query} })
		}
	})

var similarCmd = newCommand("similar", "IMAGE",
	"find the images most like an image",
	`Find the indexed images most similar to IMAGE: a file (anywhere), or the
id of an indexed image. The image itself is left out of the results. With
--dir, search a folder that was never indexed.

Examples:
  rag-search similar examples/shapes/red-circle.png
  rag-search similar --dir examples/images --grid similar.png examples/images/cat.jpg`,
	func(fs *flag.FlagSet) runCmd {
		f := newFilterFlags(fs)
		return func(ctx context.Context, e *env, pos []string) error {
			if len(pos) != 1 {
				return usageErr("similar: give one IMAGE, got %s (try: rag-search similar photo.jpg)", plural(len(pos), "argument"))
			}
			ref, root, err := imageArg(pos[0])
			if err != nil {
				return err
			}
			var roots []string
			if root != "" {
				roots = []string{root}
			}
			return f.search(ctx, e, fs, roots, ref.URL != "",
				func(svc *tools.Service, filters tools.Filters) (tools.SearchOutput, error) {
					return svc.FindSimilar(ctx, tools.SimilarInput{Image: ref, TopK: *f.topK, Filters: filters})
				},
				func(st retriever.Store) queryTile {
					q := queryTile{path: ref.Path, name: pos[0]}
					if ref.ID != "" {
						if recs, err := st.Get(ctx, []string{ref.ID}); err == nil && len(recs) == 1 {
							q.path = recs[0].Payload.Path
						}
					}
					return q
				})
		}
	})

var classifyCmd = newCommand("classify", "IMAGE",
	"score an image against candidate labels (zero-shot)",
	`Score IMAGE against candidate labels, zero-shot: each label becomes a
prompt ("a photo of a {}." by default, "一张{}的图片。" for Chinese-CLIP), and
the probabilities, which sum to 1, are printed best first. Labels may be in
any language the model reads. IMAGE is a file or the id of an indexed image.

Examples:
  rag-search classify photo.jpg --labels cat,dog,bird
  rag-search classify map.png --labels 断裂体系叠合图,构造图,沉积图,顶面构造图
  rag-search classify map.png --labels-file labels.txt --template "a diagram of {}." --template "a map of {}."`,
	func(fs *flag.FlagSet) runCmd {
		c := commonFlags(fs)
		labels := fs.String("labels", "", "candidate labels, comma-separated")
		labelsFile := fs.String("labels-file", "", "file of candidate labels, one per line (# starts a comment)")
		var templates stringList
		fs.Var(&templates, "template", "prompt template with {} where the label goes (repeatable: the prompts are averaged)")
		top := fs.Int("top-k", 0, "show only the best N labels (0: all)")
		return func(ctx context.Context, e *env, pos []string) error {
			if len(pos) != 1 {
				return usageErr("classify: give one IMAGE, got %s (try: rag-search classify photo.jpg --labels cat,dog)", plural(len(pos), "argument"))
			}
			if *top < 0 {
				return usageErr("--top-k must not be negative")
			}
			cands := tools.SplitList(*labels)
			if *labelsFile != "" {
				more, err := readLabels(*labelsFile)
				if err != nil {
					return err
				}
				cands = append(cands, more...)
			}
			if len(cands) == 0 {
				return usageErr("classify: no labels: give --labels a,b,c or --labels-file FILE")
			}
			if err := c.cfg.Resolve(fs); err != nil {
				return usageErr("%v", err)
			}
			ref, root, err := imageArg(pos[0])
			if err != nil {
				return err
			}
			m, st, svc, err := c.standalone(ctx, e, []tools.ImageRef{ref}, []string{root})
			if err != nil {
				return err
			}
			defer m.Close()
			defer st.Close()
			out, err := svc.ClassifyImage(ctx, tools.ClassifyInput{Image: ref, Labels: cands, Templates: templates})
			if err != nil {
				return serviceErr(err)
			}
			if *top > 0 && *top < len(out.Labels) {
				out.Labels = out.Labels[:*top]
			}
			if *c.json {
				return writeJSON(e.stdout, struct {
					Image  string            `json:"image"`
					Model  string            `json:"model"`
					Labels []tools.LabelProb `json:"labels"`
				}{describe(ref), m.ID(), out.Labels})
			}
			t := &table{}
			t.add("LABEL", "PROBABILITY", "")
			for _, l := range out.Labels {
				t.add(l.Label, strconv.FormatFloat(l.Probability, 'f', 4, 64), bar(l.Probability, 20))
			}
			return t.write(e.stdout)
		}
	})

var compareCmd = newCommand("compare", "IMAGE_A IMAGE_B",
	"cosine similarity of two images",
	`Compare two images: the cosine similarity of their embeddings (-1 to 1;
near 1 is the same picture) and (cosine+1)/2 (0 to 1). Each IMAGE is a file
or the id of an indexed image.

Examples:
  rag-search compare a.jpg b.jpg
  rag-search compare --json examples/shapes/red-circle.png examples/shapes/red-circle-blurred.jpg`,
	func(fs *flag.FlagSet) runCmd {
		c := commonFlags(fs)
		return func(ctx context.Context, e *env, pos []string) error {
			if len(pos) != 2 {
				return usageErr("compare: give two images, got %s (try: rag-search compare a.jpg b.jpg)", plural(len(pos), "argument"))
			}
			if err := c.cfg.Resolve(fs); err != nil {
				return usageErr("%v", err)
			}
			a, rootA, err := imageArg(pos[0])
			if err != nil {
				return err
			}
			b, rootB, err := imageArg(pos[1])
			if err != nil {
				return err
			}
			m, st, svc, err := c.standalone(ctx, e, []tools.ImageRef{a, b}, []string{rootA, rootB})
			if err != nil {
				return err
			}
			defer m.Close()
			defer st.Close()
			out, err := svc.CompareImages(ctx, tools.CompareInput{A: a, B: b})
			if err != nil {
				return serviceErr(err)
			}
			if *c.json {
				return writeJSON(e.stdout, struct {
					A          string  `json:"a"`
					B          string  `json:"b"`
					Model      string  `json:"model"`
					Cosine     float64 `json:"cosine"`
					Similarity float64 `json:"similarity"`
				}{describe(a), describe(b), m.ID(), out.Cosine, out.Similarity})
			}
			t := &table{}
			t.add("A", displayPath(describe(a)))
			t.add("B", displayPath(describe(b)))
			t.add("cosine", strconv.FormatFloat(out.Cosine, 'f', 4, 64))
			t.add("similarity", strconv.FormatFloat(out.Similarity, 'f', 4, 64)+"  (cosine+1)/2")
			return t.write(e.stdout)
		}
	})

var statsCmd = newCommand("stats", "",
	"what the index holds",
	`Show the index: the model it was built with, where it lives, how many
images it holds, the folders they are in and the tags stored with them.

Examples:
  rag-search stats
  rag-search stats --store ./index --json`,
	func(fs *flag.FlagSet) runCmd {
		c := commonFlags(fs)
		return func(ctx context.Context, e *env, pos []string) error {
			if len(pos) != 0 {
				return usageErr("stats: takes no arguments, got %q", pos)
			}
			if err := c.cfg.Resolve(fs); err != nil {
				return usageErr("%v", err)
			}
			// The index describes itself: no model is loaded.
			st, err := c.openIndex(ctx, false)
			if err != nil {
				return err
			}
			defer st.Close()
			svc, err := newService(nil, st, nil, false)
			if err != nil {
				return err
			}
			out, err := svc.IndexStats(ctx)
			if err != nil {
				return serviceErr(err)
			}
			if *c.json {
				return writeJSON(e.stdout, out)
			}
			t := &table{}
			t.add("model", out.Model)
			t.add("dim", strconv.Itoa(out.Dim))
			t.add("store", out.Store)
			t.add("images", strconv.Itoa(out.Images))
			for i, r := range out.Roots {
				k := ""
				if i == 0 {
					k = "folders"
				}
				t.add(k, r)
			}
			tags := make([]string, 0, len(out.Tags))
			for tag := range out.Tags {
				tags = append(tags, tag)
			}
			sort.Slice(tags, func(i, j int) bool {
				if out.Tags[tags[i]] != out.Tags[tags[j]] {
					return out.Tags[tags[i]] > out.Tags[tags[j]]
				}
				return tags[i] < tags[j]
			})
			for i, tag := range tags {
				k := ""
				if i == 0 {
					k = "tags"
				}
				t.add(k, fmt.Sprintf("%s (%d)", tag, out.Tags[tag]))
			}
			return t.write(e.stdout)
		}
	})

// standalone opens what classify and compare need: the model, and the
// index only when an image is named by its id (an empty in-memory store
// otherwise), with a service allowed to read the named files.
func (c *common) standalone(ctx context.Context, e *env, refs []tools.ImageRef, roots []string) (*embed.Model, retriever.Store, *tools.Service, error) {
	needIndex, urls := false, false
	for _, r := range refs {
		needIndex = needIndex || r.ID != ""
		urls = urls || r.URL != ""
	}
	var dirs []string
	for _, r := range roots {
		if r != "" {
			dirs = append(dirs, r)
		}
	}
	var (
		m   *embed.Model
		st  retriever.Store
		err error
	)
	if needIndex {
		m, st, err = c.openIndexAndModel(ctx, e)
	} else {
		st = local.OpenMemory(nil)
		if m, err = c.openModel(ctx, e, nil); err != nil {
			st.Close()
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	svc, err := newService(m, st, dirs, urls)
	if err != nil {
		st.Close()
		m.Close()
		return nil, nil, nil, err
	}
	return m, st, svc, nil
}

// readLabels reads --labels-file.
func readLabels(path string) ([]string, error) {
	labels, err := tools.ReadLabels(path)
	if err != nil {
		return nil, usageErr("--labels-file: %v", err)
	}
	return labels, nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " | ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// describe names an image reference for output.
func describe(r tools.ImageRef) string {
	switch {
	case r.Path != "":
		return r.Path
	case r.ID != "":
		return "image://" + r.ID
	case r.URL != "":
		return r.URL
	}
	return "inline image"
}

// displayPath shortens p to a path relative to the working directory when
// it lies below it.
func displayPath(p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if res, err := filepath.EvalSymlinks(wd); err == nil {
		wd = res
	}
	rel, err := filepath.Rel(wd, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return rel
}

// bar draws p (0 to 1) as a bar of up to n blocks.
func bar(p float64, n int) string {
	k := int(p*float64(n) + 0.5)
	return strings.Repeat("█", max(0, min(n, k)))
}

// printHits prints search results as a table or JSON.
func printHits(e *env, c *common, out tools.SearchOutput) error {
	if *c.json {
		return writeJSON(e.stdout, out)
	}
	if len(out.Hits) == 0 {
		fmt.Fprintln(e.stderr, "no images matched")
		return nil
	}
	withTags, withText := false, false
	for _, h := range out.Hits {
		withTags = withTags || len(h.Tags) > 0
		withText = withText || h.Text != ""
	}
	t := &table{}
	head := []string{"RANK", "SCORE", "SIZE", "PATH"}
	if withTags {
		head = append(head, "TAGS")
	}
	if withText {
		head = append(head, "TEXT")
	}
	t.add(head...)
	for _, h := range out.Hits {
		row := []string{strconv.Itoa(h.Rank), strconv.FormatFloat(h.Score, 'f', 4, 64), fmt.Sprintf("%d×%d", h.Width, h.Height), displayPath(h.Path)}
		if withTags {
			var tags []string
			for _, tg := range h.Tags {
				tags = append(tags, tg.Label)
			}
			row = append(row, strings.Join(tags, ", "))
		}
		if withText {
			row = append(row, hitText(h.Text))
		}
		t.add(row...)
	}
	return t.write(e.stdout)
}

// maxTableText is how much of a hit's text a table row shows.
const maxTableText = 60

// hitText is a hit's text on one line, shortened for a table: its lines
// (those matching the query come first) joined by " / ".
func hitText(s string) string {
	s = strings.ReplaceAll(s, "\n", " / ")
	if r := []rune(s); len(r) > maxTableText {
		s = strings.TrimRight(string(r[:maxTableText-1]), " /") + "…"
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// plural returns "1 argument", "2 arguments".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
