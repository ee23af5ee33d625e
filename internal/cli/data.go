package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/eval/task"
	"github.com/rwkv-tools/rwkv-tools/internal/atomicfile"
	"github.com/rwkv-tools/rwkv-tools/internal/table"
)

type dataOptions struct {
	IO      *IO
	DataDir string
	Tasks   []string
	JSON    bool
	Quiet   bool
	// URLBase, when set, replaces "https://" in every download address
	// (URLBase + "/" + host + path): a mirror, or a test server.
	URLBase string
}

func newDataCmd(io *IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data list | data fetch TASK...",
		Short: "List and download the evaluation data files",
		Long: `The evaluation data lives in --data-dir (default $RWKV_TOOLS_DATA, else
<user cache dir>/rwkv-tools/data), laid out <dir>/<task>/<file> exactly like
the project's shared data folder. "data list" shows every task's files:
present or not, and whether their sha256 matches the published one. "data
fetch" downloads a task's files from their canonical public addresses
(extracting the member of an official archive where needed), checks their
sha256 and writes each atomically.`,
	}
	cmd.AddCommand(newDataListCmd(io, nil), newDataFetchCmd(io, nil))
	return cmd
}

func addDataDirFlag(cmd *cobra.Command, opts *dataOptions) {
	cmd.Flags().StringVar(&opts.DataDir, "data-dir", "", "evaluation data directory (default $RWKV_TOOLS_DATA, else <user cache>/rwkv-tools/data)")
}

func newDataListCmd(io *IO, runF func(*dataOptions) error) *cobra.Command {
	opts := &dataOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show each task's data files: present, sha256 verified",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runDataList(opts)
		},
	}
	addDataDirFlag(cmd, opts)
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func newDataFetchCmd(io *IO, runF func(context.Context, *dataOptions) error) *cobra.Command {
	opts := &dataOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "fetch TASK...",
		Short: `Download tasks' data files ("paper" = the RWKV paper's set, "all")`,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Tasks = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runDataFetch(cmd.Context(), opts)
		},
	}
	addDataDirFlag(cmd, opts)
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress on stderr")
	cmd.Flags().StringVar(&opts.URLBase, "url-base", "", `download from a mirror: "https://" in each address is replaced by URL-BASE/`)
	return cmd
}

func (o *dataOptions) dir() (string, error) {
	if o.DataDir != "" {
		return o.DataDir, nil
	}
	return defaultDataDir()
}

// dataFileStatus is one file's row in data list.
type dataFileStatus struct {
	Task   string `json:"task"`
	Path   string `json:"path"`
	Status string `json:"status"` // ok, missing, mismatch, unverified
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256,omitempty"`
	Want   string `json:"want_sha256,omitempty"`
}

func runDataList(opts *dataOptions) error {
	dir, err := opts.dir()
	if err != nil {
		return err
	}
	var rows []dataFileStatus
	for _, name := range task.Names() {
		t, _ := task.Lookup(name)
		for _, f := range t.Files {
			st := dataFileStatus{Task: name, Path: f.Path, Want: f.SHA256}
			p := filepath.Join(dir, filepath.FromSlash(f.Path))
			sum, n, err := sha256File(p)
			switch {
			case os.IsNotExist(err):
				st.Status = "missing"
			case err != nil:
				return err
			case f.SHA256 == "":
				st.Status, st.SHA256, st.Bytes = "unverified", sum, n
			case sum == f.SHA256:
				st.Status, st.SHA256, st.Bytes = "ok", sum, n
			default:
				st.Status, st.SHA256, st.Bytes = "mismatch", sum, n
			}
			rows = append(rows, st)
		}
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, struct {
			DataDir string           `json:"data_dir"`
			Files   []dataFileStatus `json:"files"`
		}{dir, rows})
	}
	var cells [][]string
	for _, r := range rows {
		status := map[string]string{
			"ok": "ok (sha256 verified)", "missing": "missing", "unverified": "present (no published sha256)",
			"mismatch": "sha256 MISMATCH: re-fetch it",
		}[r.Status]
		size := ""
		if r.Status != "missing" {
			size = strconv.FormatInt(r.Bytes, 10)
		}
		cells = append(cells, []string{r.Task, r.Path, status, size})
	}
	fmt.Fprintf(opts.IO.Out, "data dir: %s\n", dir)
	return table.Write(opts.IO.Out, table.ASCII, []string{"task", "file", "status", "bytes"}, cells, 3)
}

func sha256File(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// maxDownloadBytes bounds one download (the largest official archive,
// SuperGLUE ReCoRD, is about 50 MiB).
const maxDownloadBytes = 1 << 30

func runDataFetch(ctx context.Context, opts *dataOptions) error {
	dir, err := opts.dir()
	if err != nil {
		return err
	}
	var tasks []*task.Task
	for _, name := range opts.Tasks {
		names := []string{name}
		switch name {
		case "paper":
			names = task.PaperSet
		case "all":
			names = task.Names()
		}
		for _, n := range names {
			t, err := task.Lookup(n)
			if err != nil {
				return err
			}
			tasks = append(tasks, t)
		}
	}
	downloads := map[string][]byte{} // by URL: archives serve several files
	var failed []string
	for _, t := range tasks {
		for _, f := range t.Files {
			if err := ctx.Err(); err != nil {
				return err
			}
			dst := filepath.Join(dir, filepath.FromSlash(f.Path))
			if f.SHA256 != "" {
				if sum, _, err := sha256File(dst); err == nil && sum == f.SHA256 {
					if !opts.Quiet {
						fmt.Fprintf(opts.IO.ErrOut, "%s: present, sha256 verified\n", f.Path)
					}
					continue
				}
			}
			if err := fetchDataFile(ctx, opts, f, dst, downloads); err != nil {
				fmt.Fprintf(opts.IO.ErrOut, "%s: %v\n", f.Path, err)
				failed = append(failed, f.Path)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d file(s) not fetched: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

func fetchDataFile(ctx context.Context, opts *dataOptions, f task.DataFile, dst string, downloads map[string][]byte) error {
	if f.URL == "" {
		return fmt.Errorf("has no public download address (released on request only); place it at %s yourself", dst)
	}
	body, ok := downloads[f.URL]
	if !ok {
		u := f.URL
		if opts.URLBase != "" {
			pu, err := url.Parse(f.URL)
			if err != nil {
				return err
			}
			u = strings.TrimSuffix(opts.URLBase, "/") + "/" + pu.Host + pu.EscapedPath()
		}
		if !opts.Quiet {
			fmt.Fprintf(opts.IO.ErrOut, "%s: downloading %s\n", f.Path, u)
		}
		var err error
		if body, err = download(ctx, u); err != nil {
			return err
		}
		if f.Member != "" && f.ArchiveSHA256 != "" {
			if got := sha256Hex(body); got != f.ArchiveSHA256 {
				return fmt.Errorf("archive %s has sha256 %s, want %s: the download is corrupt or the file changed upstream; nothing written", u, got, f.ArchiveSHA256)
			}
		}
		downloads[f.URL] = body
	}
	data := body
	if f.Member != "" {
		var err error
		if data, err = task.ExtractMember(body, f.URL, f.Member); err != nil {
			return err
		}
	}
	sum := sha256Hex(data)
	if f.SHA256 != "" && sum != f.SHA256 {
		return fmt.Errorf("downloaded file has sha256 %s, want %s: the download is corrupt or the file changed upstream; nothing written", sum, f.SHA256)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(dst, func(out *os.File) error {
		if _, err := out.Write(data); err != nil {
			return err
		}
		return ctx.Err()
	}); err != nil {
		return err
	}
	if !opts.Quiet {
		note := "sha256 verified"
		if f.SHA256 == "" {
			note = "no published sha256 to check; its sha256 is " + sum
		}
		fmt.Fprintf(opts.IO.ErrOut, "%s: %d bytes written, %s\n", f.Path, len(data), note)
	}
	return nil
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// download GETs u into memory, bounded by maxDownloadBytes.
func download(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("download failed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDownloadBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(b) > maxDownloadBytes {
		return nil, fmt.Errorf("GET %s: larger than %d MiB, more than any evaluation file; refusing", u, maxDownloadBytes>>20)
	}
	return b, nil
}
