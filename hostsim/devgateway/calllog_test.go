package devgateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCallLogRotatesBySizeKeepingWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.jsonl")
	c, err := openCallLog(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	line := `{"ts_ms":1,"request_id":"` + strings.Repeat("x", 20) + `"}` // 44 bytes + newline
	for range 10 {
		if err := c.write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	// 2 lines (90 bytes) fit under 100: 10 lines make FILE + FILE.1 … FILE.3 of 2 lines each,
	// and the two oldest lines are gone.
	for _, name := range []string{path, path + ".1", path + ".2", path + ".3"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Repeat(line+"\n", 2); string(b) != want {
			t.Errorf("%s = %q, want two whole lines", filepath.Base(name), b)
		}
	}
	if _, err := os.Stat(path + ".4"); !os.IsNotExist(err) {
		t.Errorf("%s.4 exists: only %d backups are kept", path, callLogBackups)
	}
}

func TestCallLogAppendsToAnExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.jsonl")
	os.WriteFile(path, []byte(`{"ts_ms":0}`+"\n"), 0o644)
	c, err := openCallLog(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.write(`{"ts_ms":1}`)
	c.close()
	if b, _ := os.ReadFile(path); string(b) != "{\"ts_ms\":0}\n{\"ts_ms\":1}\n" {
		t.Errorf("file = %q", b)
	}
}

func TestCallLogOpenFailureNamesTheFile(t *testing.T) {
	_, err := openCallLog(filepath.Join(t.TempDir(), "no", "such", "dir", "calls.jsonl"), 0)
	if err == nil || !strings.Contains(err.Error(), "calls.jsonl") {
		t.Errorf("err = %v, want it to name the file", err)
	}
}
