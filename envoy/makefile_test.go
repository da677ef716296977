package envoy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// makeRecipe returns the recipe lines of a Makefile target, joined by newlines.
func makeRecipe(t testing.TB, target string) string {
	t.Helper()
	lines := strings.Split(string(readFile(t, makefilePath)), "\n")
	head := regexp.MustCompile(`^` + regexp.QuoteMeta(target) + `\s*:`)
	for i, l := range lines {
		if !head.MatchString(l) {
			continue
		}
		var recipe []string
		for _, r := range lines[i+1:] {
			if !strings.HasPrefix(r, "\t") {
				break
			}
			recipe = append(recipe, strings.TrimPrefix(r, "\t"))
		}
		return strings.Join(recipe, "\n")
	}
	t.Fatalf("Makefile: no target %s", target)
	return ""
}

// TestMakeUpWaits: make up waits for the health checks, so that make e2e-envoy can follow it.
func TestMakeUpWaits(t *testing.T) {
	recipe := makeRecipe(t, "up")
	if !regexp.MustCompile(`docker compose up .*--wait`).MatchString(recipe) {
		t.Errorf("make up runs %q: want docker compose up --wait", recipe)
	}
}

// TestMakeUpWithoutCompose runs make up with a docker that has no compose plugin, and with no docker
// at all: it must say what is missing, and stop before building anything.
func TestMakeUpWithoutCompose(t *testing.T) {
	mk, err := exec.LookPath("make")
	if err != nil {
		t.Skip("no make")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	// A docker like one without the plugin: `docker compose ...` is an unknown command.
	withDocker := t.TempDir()
	fake := "#!" + sh + "\necho \"docker: 'compose' is not a docker command.\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(withDocker, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	noDocker := t.TempDir()
	for _, tt := range []struct{ name, dir, want string }{
		{"docker without compose", withDocker, "'docker compose' is missing"},
		{"no docker", noDocker, "docker is not installed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// PATH holds only the fake: the recipe's check needs nothing but the shell (given by
			// its absolute path), and a real docker must not be found even where one exists.
			cmd := exec.Command(mk, "-C", "..", "up", "SHELL="+sh)
			cmd.Env = append(os.Environ(), "PATH="+tt.dir)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("make up succeeded:\n%s", out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("make up said:\n%s\nwant it to say %q", out, tt.want)
			}
			if strings.Contains(string(out), "build.sh") || strings.Contains(string(out), "compose up") {
				t.Errorf("make up went on after the check:\n%s", out)
			}
		})
	}
}
