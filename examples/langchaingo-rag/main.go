// Command langchaingo-rag is a runnable multimodal RAG program built on
// langchaingo and cliprag: it indexes a folder of images, retrieves the
// images that match a question through cliprag's schema.Retriever, builds a
// multimodal prompt (the question, one line per image, and a small JPEG
// thumbnail of each image) and sends it to an LLM configured by the
// environment:
//
//   - an OpenAI-compatible endpoint: OPENAI_API_KEY, OPENAI_BASE_URL
//     (optional; e.g. http://127.0.0.1:8000/v1 for vLLM or llama.cpp, where
//     any key will do) and OPENAI_MODEL (default gpt-4o-mini). Images go as
//     image_url parts holding data: URLs.
//   - Ollama: OLLAMA_HOST (default http://127.0.0.1:11434) and OLLAMA_MODEL
//     (default llava). Images go as binary parts.
//
// With neither configured (or with -llm none) it prints the retrieved
// images and the exact prompt it would send, image parts shown as
// [image/jpeg, N bytes: path].
//
// By default it indexes examples/shapes with the bundled tiny-shapes model
// into a temporary index, so it runs anywhere from the repository root:
//
//	go run ./examples/langchaingo-rag -q "Which pictures show a red circle?"
//
// The model, store, cache and ONNX Runtime come from the same flags,
// environment variables and .env file as every cliprag command (see
// package internal/config); for real photos use e.g.
//
//	go run ./examples/langchaingo-rag -model clip-vit-b-32 -images ~/Pictures -q "a dog on a beach"
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
	"github.com/tmc/langchaingo/schema"

	"github.com/cliprag/cliprag/embed"
	"github.com/cliprag/cliprag/embed/tinyshapes"
	"github.com/cliprag/cliprag/internal/config"
	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
	lcr "github.com/cliprag/cliprag/tools/langchaingo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "langchaingo-rag:", err)
		os.Exit(1)
	}
}

// Defaults of the example.
const (
	defaultImages   = "examples/shapes"
	defaultModel    = "tiny-shapes"
	defaultQuestion = "Which of these pictures show a red circle?"
	defaultOpenAI   = "gpt-4o-mini"
	defaultOllama   = "llava"
)

// systemPrompt tells the LLM what the attached images are.
const systemPrompt = "You answer questions about a collection of images. " +
	"The images attached to the user's message were retrieved from the collection by CLIP similarity to the question, " +
	"in the order they are listed; not all of them need be relevant. " +
	"Where a line gives the text read in an image (OCR), such as a figure's title, you may quote it. " +
	"Look at the images, answer briefly, and cite the images you rely on by file name."

// settings are the example's own flags.
type settings struct {
	images   string
	question string
	topK     int
	thumb    int
	llm      string
	tags     []string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, s, explicit, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	llm, kind, err := chooseLLM(cfg, s.llm)
	if err != nil {
		return err
	}

	if cfg.Store == "" {
		dir, err := os.MkdirTemp("", "langchaingo-rag-index-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.Store = dir
	}
	images, cleanup, err := imageFolder(s.images, explicit["images"], cfg.Model, stderr)
	if err != nil {
		return err
	}
	defer cleanup()

	m, st, err := cfg.Open(ctx, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	defer st.Close()
	sum, err := ingest.Run(ctx, m, st, ingest.Options{Paths: []string{images}, Tags: s.tags, TopTags: 2})
	if err != nil {
		return fmt.Errorf("index %s: %w", images, err)
	}
	for _, f := range sum.Failed {
		fmt.Fprintf(stderr, "skipped %s: %s\n", f.Path, f.Reason)
	}
	fmt.Fprintf(stdout, "Indexed %s with %s into %s: %d images (%d new, %d unchanged).\n\n",
		images, m.ID(), st, sum.Found-len(sum.Failed), sum.Indexed, sum.Skipped)

	svc, err := tools.New(m, st, tools.Options{Roots: []string{images}})
	if err != nil {
		return err
	}
	docs, thumbs, err := retrieve(ctx, svc, s, stdout)
	if err != nil {
		return err
	}
	return ask(ctx, llm, kind, BuildPrompt(s.question, docs, thumbs, kind), docs, stdout, stderr)
}

// parseArgs reads the flags and the shared settings, with this example's
// defaults, and checks them. explicit lists the flags given.
func parseArgs(args []string, stderr io.Writer) (*config.Config, settings, map[string]bool, error) {
	var s settings
	fs := flag.NewFlagSet("langchaingo-rag", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Flags(fs)
	if f := fs.Lookup("model"); f != nil {
		f.Usage = strings.Replace(f.Usage, "default "+embed.DefaultModel, "default in this example "+defaultModel, 1)
	}
	if f := fs.Lookup("store"); f != nil {
		f.Usage += " (default in this example: a temporary index, removed at exit)"
	}
	fs.StringVar(&s.images, "images", defaultImages, "folder of images to index and search")
	fs.StringVar(&s.question, "q", defaultQuestion, "the question")
	fs.IntVar(&s.topK, "k", 3, "how many images to retrieve and send")
	fs.IntVar(&s.thumb, "thumb", tools.ThumbnailMaxSide, "long side, in pixels, of the JPEG thumbnails sent to the LLM")
	fs.StringVar(&s.llm, "llm", "auto", "LLM: auto (OpenAI-compatible if OPENAI_API_KEY or OPENAI_BASE_URL is set, else Ollama if OLLAMA_HOST or OLLAMA_MODEL is set, else none), openai, ollama or none (print the prompt)")
	tags := fs.String("tags", "", "comma-separated zero-shot labels stored with each image at ingest (default with tiny-shapes: its 20 classes)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: langchaingo-rag [flags]\n\nIndexes -images, retrieves images for -q and asks an LLM about them.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, s, nil, err
	}
	if fs.NArg() > 0 {
		return nil, s, nil, fmt.Errorf("unexpected arguments %q: put the question in -q", fs.Args())
	}
	if err := cfg.Resolve(fs); err != nil {
		return nil, s, nil, err
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if _, ok := cfg.Dotenv("CLIPRAG_MODEL"); !ok && !explicit["model"] {
		cfg.Model = defaultModel
	}
	if s.topK < 1 || s.topK > tools.MaxTopK {
		return nil, s, nil, fmt.Errorf("-k %d: want 1 to %d", s.topK, tools.MaxTopK)
	}
	if s.thumb < 16 || s.thumb > tools.ResourceMaxSide {
		return nil, s, nil, fmt.Errorf("-thumb %d: want 16 to %d pixels", s.thumb, tools.ResourceMaxSide)
	}
	for _, t := range strings.Split(*tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			s.tags = append(s.tags, t)
		}
	}
	if len(s.tags) == 0 && cfg.Model == defaultModel {
		s.tags = tinyshapes.Classes()
	}
	return cfg, s, explicit, nil
}

// retrieve asks the retriever for the question's images and their
// thumbnails, and prints what it found.
func retrieve(ctx context.Context, svc *tools.Service, s settings, stdout io.Writer) ([]schema.Document, [][]byte, error) {
	r := lcr.NewRetriever(svc, lcr.WithTopK(s.topK))
	docs, err := r.GetRelevantDocuments(ctx, s.question)
	if err != nil {
		return nil, nil, err
	}
	thumbs, err := r.Thumbnails(ctx, docs, s.thumb)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stdout, "Retrieved %d images for %q:\n", len(docs), s.question)
	for i, d := range docs {
		fmt.Fprintf(stdout, "  %d. %s  score %.3f  %s\n", i+1, d.Metadata[lcr.MetaFileName], d.Score, d.Metadata[lcr.MetaPath])
	}
	fmt.Fprintln(stdout)

	return docs, thumbs, nil
}

// ask sends msgs to the LLM and prints its answer, or prints the prompt
// when there is no LLM.
func ask(ctx context.Context, llm llms.Model, kind string, msgs []llms.MessageContent, docs []schema.Document, stdout, stderr io.Writer) error {
	if llm == nil {
		fmt.Fprintln(stdout, "No LLM configured (set OPENAI_API_KEY/OPENAI_BASE_URL/OPENAI_MODEL or OLLAMA_HOST/OLLAMA_MODEL); the prompt that would be sent:")
		fmt.Fprintln(stdout)
		return PrintPrompt(stdout, msgs, docs)
	}
	fmt.Fprintf(stderr, "asking %s ...\n", kind)
	resp, err := llm.GenerateContent(ctx, msgs, llms.WithMaxTokens(1024))
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	if len(resp.Choices) == 0 {
		return fmt.Errorf("%s: empty response", kind)
	}
	fmt.Fprintf(stdout, "Answer (%s):\n%s\n", kind, strings.TrimSpace(resp.Choices[0].Content))
	return nil
}

// imageFolder returns the folder to index, resolved. When the default
// folder is missing (the program runs outside the repository) and the model
// is tiny-shapes, it draws a small set of images of that model's domain into
// a temporary folder instead, saying so on w.
func imageFolder(dir string, explicit bool, model string, w io.Writer) (string, func(), error) {
	nothing := func() {}
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", nothing, err
		}
		res, err := filepath.EvalSymlinks(abs)
		return res, nothing, err
	} else if explicit || model != defaultModel {
		if err == nil {
			err = fmt.Errorf("not a folder")
		}
		return "", nothing, fmt.Errorf("images %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp("", "langchaingo-rag-images-*")
	if err != nil {
		return "", nothing, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	rng := rand.New(rand.NewPCG(2026, 5))
	for _, c := range tinyshapes.ClassList() {
		p := filepath.Join(tmp, c.Color+"-"+c.Shape+".png")
		if err := tinyshapes.WriteFile(p, tinyshapes.Draw(rng, c.Color, c.Shape, tinyshapes.Options{})); err != nil {
			cleanup()
			return "", nothing, err
		}
	}
	fmt.Fprintf(w, "%s not found; drew %d images of the tiny-shapes domain into %s\n", dir, len(tinyshapes.ClassList()), tmp)
	res, err := filepath.EvalSymlinks(tmp)
	return res, cleanup, err
}

// LLM kinds; they decide how images are attached.
const (
	kindNone   = "none"
	kindOpenAI = "openai"
	kindOllama = "ollama"
)

// chooseLLM returns the LLM the settings name, or nil for none.
func chooseLLM(cfg *config.Config, choice string) (llms.Model, string, error) {
	env := func(k string) string { v, _ := cfg.Dotenv(k); return strings.TrimSpace(v) }
	choice = strings.ToLower(strings.TrimSpace(choice))
	if choice == "auto" {
		switch {
		case env("OPENAI_API_KEY") != "" || env("OPENAI_BASE_URL") != "":
			choice = kindOpenAI
		case env("OLLAMA_HOST") != "" || env("OLLAMA_MODEL") != "":
			choice = kindOllama
		default:
			choice = kindNone
		}
	}
	switch choice {
	case kindNone:
		return nil, kindNone, nil
	case kindOpenAI:
		model := env("OPENAI_MODEL")
		if model == "" {
			model = defaultOpenAI
		}
		opts := []openai.Option{openai.WithModel(model)}
		key, base := env("OPENAI_API_KEY"), env("OPENAI_BASE_URL")
		if key == "" && base == "" {
			return nil, "", errors.New("-llm openai: set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server)")
		}
		if key == "" {
			key = "unused" // local OpenAI-compatible servers take any key
		}
		opts = append(opts, openai.WithToken(key))
		if base != "" {
			opts = append(opts, openai.WithBaseURL(base))
		}
		llm, err := openai.New(opts...)
		if err != nil {
			return nil, "", fmt.Errorf("openai: %w", err)
		}
		return llm, kindOpenAI + " " + model, nil
	case kindOllama:
		model := env("OLLAMA_MODEL")
		if model == "" {
			model = defaultOllama
		}
		opts := []ollama.Option{ollama.WithModel(model)}
		if h := env("OLLAMA_HOST"); h != "" {
			if !strings.Contains(h, "://") {
				h = "http://" + h
			}
			opts = append(opts, ollama.WithServerURL(h))
		}
		llm, err := ollama.New(opts...)
		if err != nil {
			return nil, "", fmt.Errorf("ollama: %w", err)
		}
		return llm, kindOllama + " " + model, nil
	}
	return nil, "", fmt.Errorf("-llm %q: want auto, openai, ollama or none", choice)
}

// BuildPrompt returns the messages sent to the LLM: a system message, then
// one human message with a single text part (the question and one line per
// image) followed by one image part per document, in order. OpenAI's chat
// API takes images as image_url parts (here data: URLs); Ollama takes
// binary parts and at most one text part per message, so the image parts
// follow the LLM kind.
func BuildPrompt(question string, docs []schema.Document, thumbs [][]byte, kind string) []llms.MessageContent {
	var b strings.Builder
	fmt.Fprintf(&b, "Question: %s\n\n", question)
	if len(docs) == 0 {
		b.WriteString("No images were retrieved for this question.\n")
	} else {
		fmt.Fprintf(&b, "Retrieved images (attached below, in this order):\n")
		for i, d := range docs {
			// PageContent names the image and ends with the text read in it
			// (lc.MetaText, one line of it per line of text joined by " / "),
			// so a model without vision can still cite a figure by its title.
			fmt.Fprintf(&b, "%d. %s [CLIP score %.3f]\n", i+1, d.PageContent, d.Score)
		}
	}
	parts := []llms.ContentPart{llms.TextPart(b.String())}
	for _, t := range thumbs {
		if strings.HasPrefix(kind, kindOpenAI) {
			parts = append(parts, llms.ImageURLPart("data:image/jpeg;base64,"+base64.StdEncoding.EncodeToString(t)))
		} else {
			parts = append(parts, llms.BinaryPart("image/jpeg", t))
		}
	}
	return []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, systemPrompt),
		{Role: llms.ChatMessageTypeHuman, Parts: parts},
	}
}

// PrintPrompt writes msgs as text, each image part as
// [MIME, N bytes: path] with the path of the document it shows.
func PrintPrompt(w io.Writer, msgs []llms.MessageContent, docs []schema.Document) error {
	for _, m := range msgs {
		if _, err := fmt.Fprintf(w, "--- %s ---\n", m.Role); err != nil {
			return err
		}
		img := 0
		for _, p := range m.Parts {
			var line string
			switch p := p.(type) {
			case llms.TextContent:
				line = strings.TrimRight(p.Text, "\n")
			case llms.BinaryContent:
				line = fmt.Sprintf("[%s, %d bytes: %s]", p.MIMEType, len(p.Data), docPath(docs, img))
				img++
			case llms.ImageURLContent:
				mime, data, _ := strings.Cut(strings.TrimPrefix(p.URL, "data:"), ";base64,")
				raw, err := base64.StdEncoding.DecodeString(data)
				if err != nil {
					return fmt.Errorf("image part %d: %w", img+1, err)
				}
				line = fmt.Sprintf("[%s, %d bytes: %s]", mime, len(raw), docPath(docs, img))
				img++
			default:
				line = fmt.Sprintf("[%T]", p)
			}
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
	}
	return nil
}

func docPath(docs []schema.Document, i int) string {
	if i < len(docs) {
		if p, ok := docs[i].Metadata[lcr.MetaPath].(string); ok {
			return p
		}
	}
	return "?"
}
