package tokenizer

import (
	"testing"
)

var benchCaptions = []string{
	"a photo of a cat",
	"A red double-decker bus driving down a busy London street.",
	"two dogs playing with a frisbee on the beach at sunset",
	"a close-up photo of a bowl of ramen with a soft-boiled egg",
	"an aerial view of a city at night, with lights reflecting on the river",
	"a black and white photo of an old man reading a newspaper",
	"it's a diagram of the water cycle: evaporation, condensation & precipitation",
	"a person riding a bike through a forest trail in autumn",
	"screenshot of a spreadsheet with quarterly revenue figures for 2023",
	"a purple cross on a grey gradient background",
	"the Eiffel Tower seen from the Trocadéro at dawn",
	"a child's drawing of a house with a smiling sun",
}

var benchCaptionsCN = []string{
	"一张猫的照片",
	"一只在草地上奔跑的金毛犬，阳光明媚。",
	"北京天安门广场的夜景",
	"这是一张 CLIP 模型的测试图片, with English words and 123 numbers!",
	"断裂体系叠合图",
	"一辆红色的双层巴士行驶在伦敦繁忙的街道上",
	"海边日落时两只狗在玩飞盘",
	"一碗拉面的特写，上面有一个溏心蛋",
}

// benchEncode encodes captions round-robin on one goroutine and reports
// captions per second, i.e. per core.
func benchEncode(b *testing.B, tok Tokenizer, captions []string) {
	b.Helper()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = tok.Encode(captions[i%len(captions)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "captions/s")
}

// BenchmarkEncodeCLIP measures CLIP BPE on typical captions: "warm" with the
// word cache filled (the steady state of a server), "cold" without the cache.
func BenchmarkEncodeCLIP(b *testing.B) {
	clip, _ := loadShared(b)
	b.Run("warm", func(b *testing.B) { benchEncode(b, clip, benchCaptions) })
	b.Run("cold", func(b *testing.B) {
		clip.noCache = true
		b.Cleanup(func() { clip.noCache = false })
		benchEncode(b, clip, benchCaptions)
	})
}

// BenchmarkEncodeWordPiece measures Chinese-CLIP WordPiece on typical captions.
func BenchmarkEncodeWordPiece(b *testing.B) {
	_, cn := loadShared(b)
	benchEncode(b, cn, benchCaptionsCN)
}
