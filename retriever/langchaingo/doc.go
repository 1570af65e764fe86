// Package langchaingo plugs cliprag into github.com/tmc/langchaingo chains.
//
// Retriever implements schema.Retriever: a text query becomes image
// documents, one schema.Document per indexed image, best first. The
// document's PageContent is a short line a language model can read ("Image
// red-circle.png in /photos/shapes, 320x240 png, tags: red circle (0.97)")
// and its Metadata carries what a program needs to cite or show the image:
// "id", "path", "source" (the path again, as langchaingo loaders name it),
// "uri" (image://ID), "file_name", "folder", "format", "mime_type",
// "width", "height", "score", "rank", "tags" ([]string) and "tag_scores"
// (map[string]float64). Document.Score is the cosine similarity to the
// query. Retrieval runs through a *tools.Service, the same operations the
// MCP server and the agent tools in tools/langchaingo use, so limits,
// filters and path safety are the same everywhere.
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
package langchaingo
