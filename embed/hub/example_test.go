package hub_test

import (
	"context"
	"fmt"
	"os"

	"github.com/cliprag/cliprag/embed/hub"

	"github.com/cliprag/cliprag/embed/progress"
)

func ExampleFileURL() {
	fmt.Println(hub.FileURL("", "Xenova/clip-vit-base-patch32", "main", "onnx/vision_model.onnx"))
	// Output: https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/onnx/vision_model.onnx
}

func ExampleDownload() {
	dir, err := hub.Download(context.Background(), hub.Request{
		Repo:     "Xenova/clip-vit-base-patch32",
		Revision: "main", // pin a commit in real use
		Files: []hub.File{
			{Path: "config.json"},
			{Path: "onnx/vision_model.onnx"},
		},
		Progress: progress.New(os.Stderr),
	})
	if err != nil {
		fmt.Println(err) // names the failed URL and where to put the files by hand
		return
	}
	fmt.Println("model in", dir)
}
