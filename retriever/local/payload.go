package local

import (
	"encoding/json"

	"github.com/cliprag/cliprag/retriever"
)

// diskPayload is a payload as stored: retriever.Payload's JSON, with the
// exact bytes of a path or folder that is not UTF-8 beside its escaped
// text (retriever.EncodePath), since JSON strings hold UTF-8 only.
type diskPayload struct {
	retriever.Payload
	PathRaw   []byte `json:"path_raw,omitempty"`
	FolderRaw []byte `json:"folder_raw,omitempty"`
}

// encodePayload returns the stored form of p.
func encodePayload(p retriever.Payload) ([]byte, error) {
	d := diskPayload{Payload: p}
	d.Path, d.PathRaw = retriever.EncodePath(p.Path)
	d.Folder, d.FolderRaw = retriever.EncodePath(p.Folder)
	return json.Marshal(d)
}

// decodePayload decodes encodePayload's output into p.
func decodePayload(b []byte, p *retriever.Payload) error {
	var d diskPayload
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	*p = d.Payload
	p.Path = retriever.DecodePath(d.Path, d.PathRaw)
	p.Folder = retriever.DecodePath(d.Folder, d.FolderRaw)
	return nil
}
