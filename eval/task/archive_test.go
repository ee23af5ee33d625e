package task

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

func TestExtractMember(t *testing.T) {
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for _, name := range []string{"BoolQ/train.jsonl", "BoolQ/val.jsonl"} {
		w, _ := zw.Create(name)
		w.Write([]byte("body of " + name))
	}
	zw.Close()

	var tbuf bytes.Buffer
	gz := gzip.NewWriter(&tbuf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "./COPA-resources/", Typeflag: tar.TypeDir, Mode: 0o755})
	body := "<copa/>"
	tw.WriteHeader(&tar.Header{Name: "./COPA-resources/datasets/copa-dev.xml", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
	tw.Write([]byte(body))
	tw.Close()
	gz.Close()

	for _, c := range []struct {
		name, member, want, wantErr string
		archive                     []byte
	}{
		{"zip", "BoolQ/val.jsonl", "body of BoolQ/val.jsonl", "", zbuf.Bytes()},
		{"tgz", "COPA-resources/datasets/copa-dev.xml", body, "", tbuf.Bytes()},
		{"zip absent", "BoolQ/test.jsonl", "", "no member BoolQ/test.jsonl", zbuf.Bytes()},
		{"tgz absent", "COPA-resources", "", "no member", tbuf.Bytes()},
		{"not an archive", "x", "", "neither a zip nor a .tar.gz", []byte("<html>")},
		{"truncated tgz", "COPA-resources/datasets/copa-dev.xml", "", "a.tgz", tbuf.Bytes()[:30]},
		{"truncated zip", "BoolQ/val.jsonl", "", "broken zip", zbuf.Bytes()[:40]},
	} {
		got, err := ExtractMember(c.archive, "a.tgz", c.member)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
