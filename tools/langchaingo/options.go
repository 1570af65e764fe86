package langchaingo

// Option configures the retriever and the agent tools, in the functional
// style of langchaingo's own options. Each constructor reads the options
// that concern it and ignores the rest.
type Option func(*options)

type options struct {
	topK      int      // Retriever, search_images, find_similar_images
	threshold float32  // Retriever
	anyTags   []string // Retriever
	allTags   []string // Retriever
	folder    string   // Retriever
	labels    []string // classify_image
	template  string   // classify_image
	mode      string   // Retriever, search_images
}

// WithTopK sets how many images a retriever call, search_images and
// find_similar_images return when the input does not say (default 5, at
// most 100).
func WithTopK(n int) Option { return func(o *options) { o.topK = n } }

// WithScoreThreshold drops images whose cosine similarity to the query is
// below s (between -1 and 1; 0, the default, keeps everything). CLIP
// similarities between a caption and an image are small numbers, typically
// 0.2 to 0.35 for a good match with OpenAI's models; calibrate on your data.
func WithScoreThreshold(s float32) Option { return func(o *options) { o.threshold = s } }

// WithTags keeps only images carrying at least one of these ingest tags.
func WithTags(tags ...string) Option {
	return func(o *options) { o.anyTags = append([]string(nil), tags...) }
}

// WithAllTags keeps only images carrying every one of these ingest tags.
func WithAllTags(tags ...string) Option {
	return func(o *options) { o.allTags = append([]string(nil), tags...) }
}

// WithFolder keeps only images in this folder or below it: an absolute
// path, or one relative to the service's single root.
func WithFolder(prefix string) Option { return func(o *options) { o.folder = prefix } }

// WithDefaultLabels sets the candidate labels classify_image uses when the
// input names only an image.
func WithDefaultLabels(labels ...string) Option {
	return func(o *options) { o.labels = append([]string(nil), labels...) }
}

// WithTemplate sets classify_image's prompt template ("a photo of a {}."
// when unset); an input's own "template" wins.
func WithTemplate(t string) Option { return func(o *options) { o.template = t } }

// WithMode sets how a retriever call and search_images rank: tools.ModeCLIP
// (what the images show), tools.ModeText (the text read in them at ingest)
// or tools.ModeHybrid (both); unset, hybrid when the index holds text, else
// clip. A search_images input's own "mode" wins.
func WithMode(mode string) Option { return func(o *options) { o.mode = mode } }

func newOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}
