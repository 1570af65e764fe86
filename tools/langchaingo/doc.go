// Package langchaingo is cliprag's one adapter for
// github.com/tmc/langchaingo: a retriever, an embedder and agent tools, all
// thin front ends over a *tools.Service (or its Encoder), the same
// operations the MCP server and rag-search serve, so limits, filters, path
// safety and results are the same everywhere. It is the only package that
// imports langchaingo, and it is a Go module of its own
// (github.com/cliprag/cliprag/tools/langchaingo), so programs that use
// cliprag without langchaingo do not inherit langchaingo's dependencies.
//
// # Retriever
//
// Retriever implements schema.Retriever: a text query becomes image
// documents, one schema.Document per indexed image, best first. The
// document's PageContent is a short line a language model can read ("Image
// red-circle.png in /photos/shapes, 320x240 png, tags: red circle (0.97)")
// and its Metadata carries what a program needs to cite or show the image:
// "id", "path", "source" (the path again, as langchaingo loaders name it),
// "uri" (image://ID), "file_name", "folder", "format", "mime_type",
// "width", "height", "score", "rank", "tags" ([]string), "tag_scores"
// (map[string]float64), and on indexes built with rag-ingest --ocr "text"
// (the text read in the image, lines matching the query first, also in
// PageContent) and "text_score". Document.Score is the cosine similarity
// to the query. WithMode chooses clip, text or hybrid ranking.
//
// # Embedder
//
// Embedder implements embeddings.Embedder in CLIP's text space, so CLIP can
// back any langchaingo vector store. CLIP puts texts and images in one
// space: Embedder.EmbedImages returns vectors for image files that sit
// beside the text vectors, so a store filled with image vectors answers
// text queries embedded with EmbedQuery (and the other way round). Vector
// stores that only take texts (vectorstores.VectorStore.AddDocuments) embed
// PageContent themselves; to put images in such a store, add their vectors
// through the store's own client, or keep images in cliprag's index and
// use Retriever. CLIP's text encoder reads at most 77 tokens (about 50
// words); longer texts are cut, so embed captions and short queries, not
// whole documents.
//
// # Agent tools
//
// Tools returns search_images, find_similar_images, classify_image and
// read_image_text (the text in an image, OCR) as
// langchaingo agent tools (github.com/tmc/langchaingo/tools.Tool). Each
// takes one string, as langchaingo agents pass it: plain text or a JSON
// object (the Description of each tool spells out the format for the
// model). The result is compact text listing the hits, with the ids and
// paths the model needs to cite an image or pass it to another tool.
//
// Errors. In langchaingo v0.1.14 the agent Executor stops the whole run
// when a tool returns a non-nil error (Executor.doAction returns it), while
// a returned string becomes the Observation the model sees next. So a bad
// input (an *tools.InputError: unknown file, empty query, malformed JSON,
// too many labels) comes back as an "Error: ..." observation with the
// expected input format, and the agent can correct itself; only failures
// the model cannot fix (a cancelled context, an unreachable store, a model
// that fails) are returned as errors.
//
// All the kinds take the same Options (WithTopK, WithTags, ...); each
// reads those that concern it.
package langchaingo
