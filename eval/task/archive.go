package task

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxMemberBytes bounds an extracted archive member; the evaluation files
// taken from archives are at most tens of MiB.
const maxMemberBytes = 512 << 20

// ExtractMember returns the member named member of an archive held in
// memory (zip, or gzip-compressed tar), for DataFile.Member. name is used
// in messages (the archive's path or URL); the archive format is detected
// from the content, not the name. A member larger than 512 MiB is refused
// whatever its header says.
func ExtractMember(archive []byte, name, member string) ([]byte, error) {
	switch {
	case bytes.HasPrefix(archive, []byte("PK\x03\x04")):
		zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
		if err != nil {
			return nil, fmt.Errorf("%s: broken zip archive: %v", name, err)
		}
		for _, f := range zr.File {
			if f.Name != member {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %v", name, member, err)
			}
			defer rc.Close()
			return readMember(rc, name, member)
		}
	case bytes.HasPrefix(archive, []byte{0x1f, 0x8b}):
		gz, err := gzip.NewReader(bytes.NewReader(archive))
		if err != nil {
			return nil, fmt.Errorf("%s: broken gzip stream: %v", name, err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: broken tar archive: %v", name, err)
			}
			if strings.TrimPrefix(h.Name, "./") == member && h.Typeflag == tar.TypeReg {
				return readMember(tr, name, member)
			}
		}
	default:
		return nil, fmt.Errorf("%s: neither a zip nor a .tar.gz archive (it should hold %s)", name, member)
	}
	return nil, fmt.Errorf("%s: archive has no member %s; is it the right download?", name, member)
}

func readMember(r io.Reader, name, member string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxMemberBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v", name, member, err)
	}
	if len(data) > maxMemberBytes {
		return nil, fmt.Errorf("%s: %s is larger than %d bytes; not an evaluation file", name, member, maxMemberBytes)
	}
	return data, nil
}
