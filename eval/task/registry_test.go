package task

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

func TestRegistry(t *testing.T) {
	want := []string{"arc_challenge", "arc_easy", "boolq", "copa", "headqa_en", "hellaswag", "lambada_openai",
		"openbookqa", "piqa", "record", "sciq", "storycloze_2016", "winogrande"}
	if got := strings.Join(Names(), ","); got != strings.Join(want, ",") {
		t.Errorf("Names() = %s", got)
	}
	for _, n := range PaperSet {
		if _, err := Lookup(n); err != nil {
			t.Errorf("paper task %s: %v", n, err)
		}
	}
	for _, n := range Names() {
		tk, _ := Lookup(n)
		// harness v0.3.0's VERSIONs: BoolQ is at 1, every other task at 0.
		if want := map[bool]int{true: 1}[n == "boolq"]; tk.Version != want {
			t.Errorf("%s: Version %d, harness v0.3.0 has %d", n, tk.Version, want)
		}
		if len(tk.Metrics) == 0 || len(tk.Files) == 0 || tk.Load == nil {
			t.Errorf("%s: metrics %v, %d files", n, tk.Metrics, len(tk.Files))
		}
		for _, f := range tk.Files {
			if !strings.HasPrefix(f.Path, n+"/") {
				t.Errorf("%s: file %s is not under %s/", n, f.Path, n)
			}
			if f.URL == "" && n != "storycloze_2016" {
				t.Errorf("%s: %s has no URL", n, f.Path)
			}
			if f.SHA256 == "" && f.ArchiveSHA256 == "" && n != "storycloze_2016" {
				t.Errorf("%s: %s has no checksum at all", n, f.Path)
			}
		}
	}
}

// TestSharedChecksums: every task file present in shared/data has the
// sha256 its DataFile records (and so shared/data/README.md's).
func TestSharedChecksums(t *testing.T) {
	dir := testutil.Shared(t, "data")
	checked := 0
	for _, n := range Names() {
		tk, _ := Lookup(n)
		for _, f := range tk.Files {
			data, err := os.ReadFile(filepath.Join(dir, f.Path))
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if got := hex.EncodeToString(sum[:]); got != f.SHA256 {
				t.Errorf("%s: sha256 %s, DataFile says %s", f.Path, got, f.SHA256)
			}
			checked++
		}
	}
	if checked != 13 {
		t.Errorf("checked %d files in shared/data, want 13", checked)
	}
}

// TestCOPAArchiveMember: the COPA DataFile's archive (present in
// shared/data) has the recorded sha256 and its Member is copa-dev.xml.
func TestCOPAArchiveMember(t *testing.T) {
	archive, err := os.ReadFile(testutil.Shared(t, "data", "copa", "COPA-resources.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := Lookup("copa")
	f := tk.Files[0]
	sum := sha256.Sum256(archive)
	if hex.EncodeToString(sum[:]) != f.ArchiveSHA256 {
		t.Errorf("archive sha256 %x, DataFile says %s", sum, f.ArchiveSHA256)
	}
	member, err := ExtractMember(archive, "COPA-resources.tgz", f.Member)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(member); hex.EncodeToString(sum[:]) != f.SHA256 {
		t.Errorf("member %s sha256 %x, DataFile says %s", f.Member, sum, f.SHA256)
	}
}

// TestFieldsJSON: Doc.Fields marshal with the HF datasets' field names, in
// their order, as the samples files record the document.
func TestFieldsJSON(t *testing.T) {
	for _, c := range []struct {
		task string
		want string
	}{
		{"piqa", `{"goal":"How do I ready a guinea pig cage for it's new occupants?","sol1":"Provide the guinea pig with a cage full of a few inches of bedding made of ripped paper strips, you will also need to supply it with a water bottle and a food dish.","sol2":"Provide the guinea pig with a cage full of a few inches of bedding made of ripped jeans material, you will also need to supply it with a water bottle and a food dish.","label":0}`},
		{"winogrande", `{"sentence":"Sarah was a much better surgeon than Maria so _ always got the easier cases.","option1":"Sarah","option2":"Maria","answer":"2"}`},
		{"copa", `{"premise":"The man turned on the faucet.","choice1":"The toilet filled with water.","choice2":"Water flowed from the spout.","question":"effect","idx":0,"label":1}`},
		{"arc_easy", `{"id":"Mercury_417466","question":"Which statement best explains why photosynthesis is the foundation of most food webs?","choices":{"text":["Sunlight is the source of energy for nearly all ecosystems.","Most ecosystems are found on land instead of in water.","Carbon dioxide is more available than other gases.","The producers in all ecosystems are plants."],"label":["A","B","C","D"]},"answerKey":"A"}`},
		{"headqa_en", `{"name":"Cuaderno_2016_1_B","year":"2016","category":"biology","qid":1,"qtext":"Form extracellular fibers with high tensile strength:","ra":2,"answers":[{"aid":1,"atext":"Fibronectin"},{"aid":2,"atext":"Collagen"},{"aid":3,"atext":"Integrins"},{"aid":4,"atext":"Proteoglycans"}]}`},
	} {
		got, err := json.Marshal(loadShared(t, c.task, HarnessV03)[0].Fields)
		if err != nil || string(got) != c.want {
			t.Errorf("%s fields:\n got %s (%v)\nwant %s", c.task, got, err, c.want)
		}
	}
}
