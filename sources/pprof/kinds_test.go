package pprof

import (
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// TestThreadcreateSuggestsACommandThatExists: dbg has no threadcreate command, so the message must not
// send the user to one.
func TestThreadcreateSuggestsACommandThatExists(t *testing.T) {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "threadcreate", Unit: "count"}}}
	err := CheckKind(p, "goroutine", "profile file /tmp/threadcreate.pb.gz")
	if err == nil {
		t.Fatal("a threadcreate profile passed as goroutine")
	}
	if strings.Contains(err.Error(), "dbg profile threadcreate") || !strings.Contains(err.Error(), "go tool pprof -top /tmp/threadcreate.pb.gz") {
		t.Errorf("message %q", err)
	}
	if err := CheckKind(p, "goroutine", "profile file stdin"); err == nil || !strings.Contains(err.Error(), "go tool pprof -top FILE") {
		t.Errorf("stdin: %v", err)
	}
}
