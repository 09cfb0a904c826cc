package cmd

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain registers dbg in-process for the scripts: `exec dbg ...` in a testdata/script/*.txtar runs
// this test binary as dbg (cmd.Execute), so the scripts test the whole CLI — flags, config, exit
// codes, stdout and stderr — as a user's shell sees it.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"dbg": func() { os.Exit(Execute()) },
	})
}

// TestScripts runs every testdata/script/*.txtar (whole-CLI scenarios). Each runs in a fresh $WORK
// with testdata/ linked in, so a script names fixtures as the README does (testdata/traces/...).
// No DBG_* variable and no config file reach dbg: HOME is testscript's /no-home.
//
// Extra commands:
//
//	exitcode N cmd args...   run cmd and require exit status N (0 done, 1 failed, 2 usage, 3 --fail-on)
//	jsonkeys PATH keys...    the last stdout is one JSON document; the object at PATH ("." for the
//	                         document, dots and array indexes below it: findings.0.evidence) holds
//	                         every key
func TestScripts(t *testing.T) {
	testdata, err := filepath.Abs(filepath.Join("..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "testdata", "script"),
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			return os.Symlink(testdata, filepath.Join(env.WorkDir, "testdata"))
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitCode,
			"jsonkeys": cmdJSONKeys,
		},
	})
}

func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %q is not a number", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

func cmdJSONKeys(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: jsonkeys PATH key...")
	}
	var doc any
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &doc); err != nil {
		ts.Fatalf("jsonkeys: stdout is not one JSON document: %v", err)
	}
	path, args := args[0], args[1:]
	v := doc
	if path != "." {
		for _, p := range strings.Split(path, ".") {
			switch node := v.(type) {
			case map[string]any:
				var ok bool
				if v, ok = node[p]; !ok {
					ts.Fatalf("jsonkeys: no %q at %s", p, path)
				}
			case []any:
				i, err := strconv.Atoi(p)
				if err != nil || i < 0 || i >= len(node) {
					ts.Fatalf("jsonkeys: %s: index %q out of %d elements", path, p, len(node))
				}
				v = node[i]
			default:
				ts.Fatalf("jsonkeys: %s: %q is inside a %T", path, p, v)
			}
		}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		ts.Fatalf("jsonkeys: %s is a %T, not an object", path, v)
	}
	for _, k := range args {
		if _, ok := obj[k]; !ok {
			ts.Fatalf("jsonkeys: %s lacks key %q", orRoot(path), k)
		}
	}
}

func orRoot(p string) string {
	if p == "." {
		return "the document"
	}
	return p
}
