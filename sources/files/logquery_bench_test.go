package files

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbgtool/dbg/investigate"
)

// BenchmarkLogQueryFile: a field query over JSON lines from a file, parse and evaluation together
// (scripts/bench-logquery.sh times the same against jq).
func BenchmarkLogQueryFile(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&sb, `{"time":"2026-11-25T10:00:%02d.%06dZ","service":"svc%d","level":"info","msg":"handled /api/orders in %dms","path":"/api/orders","duration_ms":%d,"correlation_id":"abc-%d"}`+"\n",
			i%60, i, i%5, i%2000, i%2000, i%500)
	}
	path := filepath.Join(b.TempDir(), "app.log")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	e, err := investigate.ParseLogQuery(`duration_ms:>1000 AND path:"/api/orders"`)
	if err != nil {
		b.Fatal(err)
	}
	f := &LogFile{Path: path}
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if _, err := f.Logs(context.Background(), investigate.LogQuery{Expr: e}, func(investigate.LogRecord) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("no match")
		}
	}
}
