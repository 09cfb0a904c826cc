package logline

import (
	"testing"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// TestOtherToolsLineFormats: each format keeps its level and its time.
func TestOtherToolsLineFormats(t *testing.T) {
	now := time.Date(2026, 5, 8, 0, 0, 0, 0, time.UTC)
	p := NewParser(FormatAuto, investigate.FieldNames{}, nil)
	p.Now = func() time.Time { return now }
	cases := []struct {
		name, line string
		want       investigate.LogRecord
	}{
		{"klog info", `I0507 12:04:17.597069       1 controller.go:169] Starting controller name="x"`,
			investigate.LogRecord{Time: time.Date(2026, 5, 7, 12, 4, 17, 597069000, time.UTC), Level: "info", Message: `Starting controller name="x"`}},
		{"klog error", `E1231 23:59:59.000001   4242 reflector.go:138] failed to list *v1.Pod: connection refused`,
			// December 31st is in the future on May 8th: last year's.
			investigate.LogRecord{Time: time.Date(2025, 12, 31, 23, 59, 59, 1000, time.UTC), Level: "error", Message: "failed to list *v1.Pod: connection refused"}},
		{"klog under kubectl --timestamps", `2024-05-07T12:04:17.600000000Z W0507 12:04:17.597069       1 x.go:9] slow`,
			investigate.LogRecord{Time: time.Date(2024, 5, 7, 12, 4, 17, 597069000, time.UTC), Level: "warn", Message: "slow"}},
		{"log4j bracketed date", `[2024-05-07 10:55:53,434] INFO [SocketServer listenerType=ZK_BROKER, nodeId=0] Started (kafka.network.SocketServer)`,
			investigate.LogRecord{Time: time.Date(2024, 5, 7, 10, 55, 53, 434e6, time.UTC), Level: "info", Message: "[SocketServer listenerType=ZK_BROKER, nodeId=0] Started (kafka.network.SocketServer)"}},
		{"logback thread then level", `2024-05-07 10:55:53.434 [main] WARN  o.s.b.StartupInfoLogger - slow start`,
			investigate.LogRecord{Time: time.Date(2024, 5, 7, 10, 55, 53, 434e6, time.UTC), Level: "warn", Message: "o.s.b.StartupInfoLogger - slow start"}},
		{"bracketed level and pid", `2024-05-07 10:55:53.434 [DEBUG][606918] pool: acquired connection`,
			investigate.LogRecord{Time: time.Date(2024, 5, 7, 10, 55, 53, 434e6, time.UTC), Level: "debug", Message: "[606918] pool: acquired connection"}},
		{"spring boot pid", `2024-05-07 10:55:53.434  ERROR 1234 --- [main] c.e.App : boom`,
			investigate.LogRecord{Time: time.Date(2024, 5, 7, 10, 55, 53, 434e6, time.UTC), Level: "error", Message: "1234 --- [main] c.e.App : boom"}},
		{"an ordinary word is not skipped", `user [admin] ERROR page`, investigate.LogRecord{Message: "user [admin] ERROR page"}},
		{"docker json-file", `{"log":"level=error msg=\"db down\" trace_id=t1\n","stream":"stderr","time":"2024-05-07T10:55:53.434567891Z"}`,
			investigate.LogRecord{Time: time.Date(2024, 5, 7, 10, 55, 53, 434567891, time.UTC), Level: "error", Message: "db down", TraceID: "t1",
				Fields: map[string]string{"stream": "stderr"}}},
		{"docker json-file, plain inner line", `{"log":"listening on :8080\n","stream":"stdout","time":"2024-05-07T10:55:53Z"}`,
			investigate.LogRecord{Time: time.Date(2024, 5, 7, 10, 55, 53, 0, time.UTC), Message: "listening on :8080", Fields: map[string]string{"stream": "stdout"}}},
		{"journald json export", `{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1715079353434000","PRIORITY":"3","_SYSTEMD_UNIT":"nginx.service","SYSLOG_IDENTIFIER":"nginx","_PID":"812","MESSAGE":"upstream timed out"}`,
			investigate.LogRecord{Time: time.UnixMicro(1715079353434000).UTC(), Level: "error", Service: "nginx", Message: "upstream timed out",
				Fields: map[string]string{"_PID": "812", "_SYSTEMD_UNIT": "nginx.service"}}},
		{"journald, level in the message wins", `{"__REALTIME_TIMESTAMP":"1715079353434000","PRIORITY":"6","_SYSTEMD_UNIT":"api.service","MESSAGE":"level=warn msg=slow"}`,
			investigate.LogRecord{Time: time.UnixMicro(1715079353434000).UTC(), Level: "warn", Service: "api", Message: "slow"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := p.Parse(c.line)
			if !got.Time.Equal(c.want.Time) || got.Level != c.want.Level || got.Service != c.want.Service || got.Message != c.want.Message || got.TraceID != c.want.TraceID {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", c.line, got, c.want)
			}
			for k, v := range c.want.Fields {
				if got.Fields[k] != v {
					t.Errorf("field %s = %q, want %q", k, got.Fields[k], v)
				}
			}
		})
	}
}

// FuzzParseOtherFormats: klog headers, bracketed dates and levels, and the Docker/journald envelopes.
func FuzzParseOtherFormats(f *testing.F) {
	fuzzParse(f, FormatAuto, `I0507 12:04:17.597069       1 x.go:169] msg`, `[2024-05-07 10:55:53,434] INFO m (c)`,
		`x [DEBUG][606918] y`, `{"log":"{\"log\":\"x\",\"stream\":\"a\",\"time\":\"1\"}\n","stream":"stderr","time":"2024-05-07T10:55:53Z"}`,
		`{"__REALTIME_TIMESTAMP":"99999999999999999999","PRIORITY":"-1","MESSAGE":"[ERROR]"}`)
}
