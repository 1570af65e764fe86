package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/cliprag/cliprag/tools"
	"github.com/cliprag/cliprag/tools/ingest"
)

// toolDef is a tool and what runs it.
type toolDef struct {
	tool mcpgo.Tool
	run  func(context.Context, *toolCall) (*mcpgo.CallToolResult, error)
}

// Arguments as the tools take them. Image arguments are one string each,
// parsed by tools.RefFromString.
type (
	searchArgs struct {
		Query string `json:"query"`
		Mode  string `json:"mode"`
		hitArgs
	}
	readTextArgs struct {
		Image string `json:"image"`
	}
	similarArgs struct {
		Image string `json:"image"`
		hitArgs
	}
	hitArgs struct {
		TopK          int      `json:"top_k"`
		Tags          []string `json:"tags"`
		AllTags       []string `json:"all_tags"`
		Folder        string   `json:"folder"`
		MinScore      float64  `json:"min_score"`
		IncludeImages *bool    `json:"include_images"`
		Thumbnails    *int     `json:"thumbnails"`
		ThumbnailSize int      `json:"thumbnail_size"`
	}
	classifyArgs struct {
		Image     string   `json:"image"`
		Labels    []string `json:"labels"`
		Template  string   `json:"template"`
		Templates []string `json:"templates"`
	}
	compareArgs struct {
		A string `json:"a"`
		B string `json:"b"`
	}
	ingestArgs struct {
		Paths []string `json:"paths"`
	}
)

func (a hitArgs) filters() tools.Filters {
	return tools.Filters{Tags: a.Tags, AllTags: a.AllTags, Folder: a.Folder, MinScore: a.MinScore}
}

// Longest file path and folder accepted (characters).
const maxPathChars = 4096

func (h *handlers) hitParams() params {
	return params{
		{name: "top_k", kind: "integer", desc: fmt.Sprintf("How many images to return (default %d)", tools.DefaultTopK),
			min: 1, max: tools.MaxTopK, hasRange: true, def: tools.DefaultTopK},
		{name: "tags", kind: "array", desc: "Only images carrying at least one of these zero-shot tags (index_stats lists them)",
			maxItems: tools.MaxLabels, maxLen: tools.MaxLabelChars},
		{name: "all_tags", kind: "array", desc: "Only images carrying every one of these tags",
			maxItems: tools.MaxLabels, maxLen: tools.MaxLabelChars},
		{name: "folder", kind: "string", desc: "Only images in this folder or below it (absolute, or relative to the single root)", maxLen: maxPathChars},
		{name: "min_score", kind: "number", desc: "Drop hits whose CLIP cosine similarity is below this (0 means no minimum; in every mode)",
			min: -1, max: 1, hasRange: true},
		{name: "include_images", kind: "boolean", desc: "Attach JPEG thumbnails of the first hits (default true; false is the same as thumbnails 0)", def: true},
		{name: "thumbnails", kind: "integer", desc: fmt.Sprintf("How many of the first hits get a thumbnail (default %d)", h.opts.Thumbnails),
			min: 0, max: MaxThumbnails, hasRange: true, def: h.opts.Thumbnails},
		{name: "thumbnail_size", kind: "integer", desc: fmt.Sprintf("Long side of each thumbnail in pixels (default %d); larger costs more context", h.opts.ThumbnailSize),
			min: MinThumbnailSize, max: MaxThumbnailSize, hasRange: true, def: h.opts.ThumbnailSize},
	}
}

// imageParam is an image argument: one string in any of the forms
// tools.RefFromString accepts.
func (h *handlers) imageParam(name, what string) param {
	o := h.svc.Options()
	forms := "a file path inside the allowed roots (absolute, or relative to a root), the id of an indexed image (from a hit), " +
		fmt.Sprintf("its image://ID URI, or the image inline as a base64 data URI (data:image/png;base64,...) of at most %d MB", o.MaxDataURIBytes>>20)
	expect := "a string: a file path, an image id, an image://ID URI or a data: URI"
	if o.AllowURLs {
		forms += ", or an http(s) URL of a public image"
		expect = "a string: a file path, an image id, an image://ID URI, a data: URI or an http(s) URL"
	}
	return param{name: name, kind: "string", required: true, desc: what + ", as one string: " + forms, expect: expect,
		maxLen: int(o.MaxDataURIBytes/3*4) + 256}
}

func (h *handlers) tools() []toolDef {
	openWorld := h.svc.Options().AllowURLs
	def := func(name, title, desc string, ps params, out json.RawMessage, readOnly bool) mcpgo.Tool {
		t := mcpgo.NewTool(name,
			mcpgo.WithDescription(desc),
			mcpgo.WithToolTitle(title),
			mcpgo.WithTitleAnnotation(title),
			mcpgo.WithReadOnlyHintAnnotation(readOnly),
			mcpgo.WithDestructiveHintAnnotation(false),
			mcpgo.WithIdempotentHintAnnotation(true),
			mcpgo.WithOpenWorldHintAnnotation(openWorld && readOnly),
		)
		t.InputSchema.Type = ""
		t.RawInputSchema = ps.schema()
		t.RawOutputSchema = out
		return t
	}
	searchParams := append(params{{name: "query", kind: "string", required: true, maxLen: tools.MaxQueryChars,
		desc: "What the images should show, or text written in them, in plain words, e.g. \"a diagram of the fault system\" or \"断裂体系叠合图\""},
		{name: "mode", kind: "string", enum: tools.Modes,
			desc: "clip: rank by what the images show; text: by the text read in them (OCR at ingest); hybrid: both fused (default when the index holds text, else clip)"}},
		h.hitParams()...)
	readTextParams := params{h.imageParam("image", "The image whose text to read")}
	similarParams := append(params{h.imageParam("image", "The example image; it is left out of the hits, and so is any indexed image with the same content")}, h.hitParams()...)
	classifyParams := params{
		h.imageParam("image", "The image to classify"),
		{name: "labels", kind: "array", required: true, desc: "Candidate labels, e.g. [\"diagram\", \"photo\", \"screenshot\"]",
			minItems: 1, maxItems: tools.MaxLabels, maxLen: tools.MaxLabelChars},
		{name: "template", kind: "string", maxLen: tools.MaxTemplateChars,
			desc: "Prompt template with {} where the label goes (default: a photo of a {}.)"},
		{name: "templates", kind: "array", maxItems: tools.MaxTemplates, maxLen: tools.MaxTemplateChars,
			desc: "Several prompt templates, each with {} once; label embeddings are averaged over them"},
	}
	compareParams := params{h.imageParam("a", "The first image"), h.imageParam("b", "The second image")}
	defs := []toolDef{
		{def(ToolSearch, "Search images",
			"Find indexed images that match a text description (CLIP text-to-image search), fused with a search of the text read in the images (OCR) when the index holds it. "+
				"Returns hits best first with id, path, score (CLIP cosine similarity), size, tags and the image's text (lines matching the query first), thumbnails of the first hits, and an image://ID link per hit. "+
				"Scores are relative: compare them within one result list.",
			searchParams, outputSchema[tools.SearchOutput](), true),
			func(ctx context.Context, c *toolCall) (*mcpgo.CallToolResult, error) {
				var a searchArgs
				if err := searchParams.decode(ToolSearch, c.req.Params.Arguments, &a); err != nil {
					return nil, err
				}
				out, err := c.svc.SearchImages(ctx, tools.SearchInput{Query: a.Query, TopK: a.TopK, Filters: a.filters(), Mode: a.Mode})
				if err != nil {
					return nil, err
				}
				return h.hitsResult(ctx, c, out, fmt.Sprintf("%d image(s) for %q", len(out.Hits), out.Query), a.hitArgs), nil
			}},
		{def(ToolReadText, "Read text in image",
			"Read the text in an image (OCR, PaddleOCR PP-OCRv4: Chinese and English): its lines in reading order, each with a confidence (0 to 1) and a box (four corners in pixels). "+
				"An indexed image returns the lines read at ingest. The image is one string: a path, an image id or image://ID, or a data URI.",
			readTextParams, outputSchema[tools.ReadTextOutput](), true),
			func(ctx context.Context, c *toolCall) (*mcpgo.CallToolResult, error) {
				var a readTextArgs
				if err := readTextParams.decode(ToolReadText, c.req.Params.Arguments, &a); err != nil {
					return nil, err
				}
				out, err := c.svc.ReadImageText(ctx, tools.ReadTextInput{Image: tools.RefFromString(a.Image)})
				if err != nil {
					return nil, err
				}
				return h.result(ctx, out, readTextSummary(out), nil, nil), nil
			}},
		{def(ToolSimilar, "Find similar images",
			"Find indexed images that look like an example image (CLIP image-to-image search). "+
				"The example is one string: a path inside the allowed roots, the id or image://ID of an indexed image, a base64 data URI, or a URL when the server allows URLs. "+
				"The example itself is left out of the hits.",
			similarParams, outputSchema[tools.SearchOutput](), true),
			func(ctx context.Context, c *toolCall) (*mcpgo.CallToolResult, error) {
				var a similarArgs
				if err := similarParams.decode(ToolSimilar, c.req.Params.Arguments, &a); err != nil {
					return nil, err
				}
				out, err := c.svc.FindSimilar(ctx, tools.SimilarInput{Image: tools.RefFromString(a.Image), TopK: a.TopK, Filters: a.filters()})
				if err != nil {
					return nil, err
				}
				return h.hitsResult(ctx, c, out, fmt.Sprintf("%d image(s) similar to %s", len(out.Hits), out.Query), a.hitArgs), nil
			}},
		{def(ToolClassify, "Classify image",
			"Zero-shot classify an image against candidate labels (CLIP): returns every label with a probability, best first; the probabilities sum to 1. "+
				"Use a template such as \"a diagram of {}.\" to match the kind of image.",
			classifyParams, outputSchema[tools.ClassifyOutput](), true),
			func(ctx context.Context, c *toolCall) (*mcpgo.CallToolResult, error) {
				var a classifyArgs
				if err := classifyParams.decode(ToolClassify, c.req.Params.Arguments, &a); err != nil {
					return nil, err
				}
				out, err := c.svc.ClassifyImage(ctx, tools.ClassifyInput{Image: tools.RefFromString(a.Image), Labels: a.Labels, Template: a.Template, Templates: a.Templates})
				if err != nil {
					return nil, err
				}
				b := &strings.Builder{}
				b.WriteString("Zero-shot probabilities, best first:")
				for i, l := range out.Labels {
					fmt.Fprintf(b, "\n%d. %.4f  %s", i+1, l.Probability, l.Label)
				}
				return h.result(ctx, out, b.String(), nil, nil), nil
			}},
		{def(ToolCompare, "Compare images",
			"Compare two images: cosine similarity of their CLIP embeddings and (cosine+1)/2. Near-duplicates score close to 1. "+
				"Each image is one string: a path, an image id or image://ID, or a data URI.",
			compareParams, outputSchema[tools.CompareOutput](), true),
			func(ctx context.Context, c *toolCall) (*mcpgo.CallToolResult, error) {
				var a compareArgs
				if err := compareParams.decode(ToolCompare, c.req.Params.Arguments, &a); err != nil {
					return nil, err
				}
				out, err := c.svc.CompareImages(ctx, tools.CompareInput{A: tools.RefFromString(a.A), B: tools.RefFromString(a.B)})
				if err != nil {
					return nil, err
				}
				return h.result(ctx, out, fmt.Sprintf("cosine %.4f, similarity (cosine+1)/2 %.4f", out.Cosine, out.Similarity), nil, nil), nil
			}},
		{def(ToolStats, "Index statistics",
			"Describe the image index: model, store, number of images, tags with counts, and the folders whose files may be referenced by path.",
			params{}, outputSchema[tools.StatsOutput](), true),
			func(ctx context.Context, c *toolCall) (*mcpgo.CallToolResult, error) {
				var none struct{}
				if err := (params{}).decode(ToolStats, c.req.Params.Arguments, &none); err != nil {
					return nil, err
				}
				out, err := c.svc.IndexStats(ctx)
				if err != nil {
					return nil, err
				}
				text := fmt.Sprintf("%d image(s) in %s, model %s (dim %d), %d tag(s); readable roots: %s",
					out.Images, out.Store, out.Model, out.Dim, len(out.Tags), strings.Join(out.Roots, ", "))
				return h.result(ctx, out, text, nil, nil), nil
			}},
	}
	if h.svc.Options().AllowIngest {
		ingestParams := params{{name: "paths", kind: "array", required: true, minItems: 1, maxItems: tools.MaxIngestPaths, maxLen: maxPathChars,
			desc: "Files or folders to index, inside the allowed roots (absolute, or relative to a root)"}}
		defs = append(defs, toolDef{def(ToolIngest, "Index images",
			"Index image files or folders inside the allowed roots so they can be searched. "+
				"Incremental: unchanged files are skipped. Returns how many images were indexed, skipped or failed. "+
				"Sends progress notifications when the call carries a progressToken.",
			ingestParams, outputSchema[ingest.Summary](), false),
			func(ctx context.Context, c *toolCall) (*mcpgo.CallToolResult, error) {
				var a ingestArgs
				if err := ingestParams.decode(ToolIngest, c.req.Params.Arguments, &a); err != nil {
					return nil, err
				}
				return h.ingest(ctx, c, a)
			}})
	}
	return defs
}

func (h *handlers) ingest(ctx context.Context, c *toolCall, a ingestArgs) (*mcpgo.CallToolResult, error) {
	var report func(done, total int)
	if c.progress != nil {
		report = c.progress.files
	}
	sum, err := c.svc.IngestImagesProgress(ctx, tools.IngestInput{Paths: a.Paths}, report)
	if err != nil {
		return nil, err
	}
	if sum.Failed == nil {
		sum.Failed = []ingest.Failure{}
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "indexed %d, skipped %d (unchanged), failed %d in %.1fs", sum.Indexed, sum.Skipped, len(sum.Failed), sum.Seconds)
	for i, f := range sum.Failed {
		if i == 10 {
			fmt.Fprintf(b, "\n... and %d more", len(sum.Failed)-10)
			break
		}
		fmt.Fprintf(b, "\nfailed: %s: %s", tools.Printable(f.Path), tools.Printable(f.Reason))
	}
	if len(sum.Failed) > 0 {
		h.log.WarnContext(ctx, "some files could not be indexed", "failed", len(sum.Failed), "first", sum.Failed[0].Path+": "+sum.Failed[0].Reason)
	}
	return h.result(ctx, sum, b.String(), nil, nil), nil
}

// outputSchema is T's JSON Schema with single types (see portable).
func outputSchema[T any]() json.RawMessage {
	t := mcpgo.NewTool("x", mcpgo.WithOutputSchema[T]())
	b, err := json.Marshal(t.OutputSchema)
	if err != nil {
		panic(fmt.Sprintf("output schema of %T: %v", *new(T), err))
	}
	out, err := portable(b)
	if err != nil {
		panic(fmt.Sprintf("output schema of %T: %v", *new(T), err))
	}
	return out
}

// readTextSummary is read_image_text's text content: one line per line of
// text, each made printable (text read in an image is untrusted: it cannot
// add lines of its own).
func readTextSummary(out tools.ReadTextOutput) string {
	b := &strings.Builder{}
	name := out.Path
	if name == "" {
		name = "the image"
	}
	how := "read now"
	if out.Source == "index" {
		how = "read at ingest"
	}
	fmt.Fprintf(b, "%d line(s) of text in %s (%s by %s)", len(out.Lines), tools.Printable(name), how, out.ReadBy)
	for i, l := range out.Lines {
		fmt.Fprintf(b, "\n%d. %.2f  %s", i+1, l.Confidence, tools.Printable(l.Text))
	}
	return b.String()
}
