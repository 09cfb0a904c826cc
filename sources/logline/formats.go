package logline

import (
	"strconv"
	"strings"
	"time"

	"github.com/dbgtool/dbg/investigate"
)

// This file reads the line formats other tools write, each as itself: klog (Kubernetes components),
// log4j/logback patterns with a bracketed date, bracketed level and PID groups ("[DEBUG][606918]"), and the
// two JSON envelopes a container platform wraps lines in (journald's `journalctl -o json` export and
// Docker's json-file driver).

// klogLevels are the severity letters klog and glog write.
var klogLevels = map[byte]string{'I': "info", 'W': "warn", 'E': "error", 'F': "fatal"}

// klog reads a klog/glog header: Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg. The header has no year:
// it is the year of ref (a kubectl --timestamps prefix, or now), the year before when that would put the
// line in the future.
func klog(s string, ref time.Time) (investigate.LogRecord, bool) {
	// I0507 12:04:17.597069       1 x.go:169] msg
	if len(s) < 22 || klogLevels[s[0]] == "" || s[5] != ' ' || s[8] != ':' || s[11] != ':' {
		return investigate.LogRecord{}, false
	}
	close := strings.Index(s, "] ")
	if close < 0 {
		if !strings.HasSuffix(s, "]") {
			return investigate.LogRecord{}, false
		}
		close = len(s) - 1
	}
	header := strings.Fields(s[:close])
	if len(header) != 4 || !strings.Contains(header[3], ":") {
		return investigate.LogRecord{}, false
	}
	if _, err := strconv.Atoi(header[2]); err != nil {
		return investigate.LogRecord{}, false
	}
	if ref.IsZero() {
		ref = time.Now()
	}
	ref = ref.UTC()
	stamp := header[0][1:] + " " + header[1]
	t, err := time.Parse("0102 15:04:05.999999", stamp)
	if err != nil {
		return investigate.LogRecord{}, false
	}
	t = t.AddDate(ref.Year(), 0, 0)
	if t.After(ref.Add(24 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	msg := ""
	if close+2 <= len(s) {
		msg = s[close+2:]
	}
	return investigate.LogRecord{Time: t, Level: klogLevels[s[0]], Message: msg,
		Fields: map[string]string{"thread": header[2], "source": header[3]}}, true
}

// bracketTime cuts a bracketed leading timestamp ("[2024-05-07 10:55:53,434] INFO …", log4j's "[%d]").
func bracketTime(s string) (time.Time, string, bool) {
	if len(s) < 21 || s[0] != '[' || s[1] < '0' || s[1] > '9' {
		return time.Time{}, s, false
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return time.Time{}, s, false
	}
	t, ok := investigate.ParseLogTime(strings.Replace(s[1:end], "/", "-", 2))
	if !ok {
		return time.Time{}, s, false
	}
	return t, strings.TrimLeft(s[end+1:], " "), true
}

// leadingLevel finds a level word among the first tokens of a plain line, looking past bracketed groups
// and numbers (thread names, PIDs: "[main] INFO …", "[DEBUG][606918] …", "1234 --- WARN …"). It returns
// the level and the message after it; ok is false when no level comes before the first ordinary word.
func leadingLevel(s string) (level, msg string, ok bool) {
	rest := strings.TrimLeft(s, " \t")
	for tokens := 0; rest != "" && tokens < 6; tokens++ {
		var tok string
		bracketed := false
		switch rest[0] {
		case '[', '<', '(':
			closer := map[byte]byte{'[': ']', '<': '>', '(': ')'}[rest[0]]
			end := strings.IndexByte(rest, closer)
			if end < 0 {
				return "", "", false
			}
			tok, rest, bracketed = rest[1:end], rest[end+1:], true
		default:
			end := strings.IndexAny(rest, " \t[")
			if end < 0 {
				end = len(rest)
			}
			tok, rest = rest[:end], rest[end:]
		}
		w := strings.Trim(tok, ":|-")
		if lv, isLevel := levelWords[strings.ToUpper(w)]; isLevel && (len(w) > 1 || bracketed) {
			return lv, strings.TrimLeft(rest, " \t-:|"), true
		}
		if !bracketed && !isNumberOrDash(w) {
			return "", "", false
		}
		rest = strings.TrimLeft(rest, " \t")
	}
	return "", "", false
}

func isNumberOrDash(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '-' && s[i] != '#' {
			return false
		}
	}
	return true
}

// syslogLevels maps syslog priorities (journald's PRIORITY) onto dbg's level words.
var syslogLevels = [...]string{"fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug"}

// envelope reads the JSON wrappers that carry another program's line: Docker's json-file driver
// ({"log": "<line>\n", "stream": "stderr", "time": RFC 3339}) and journald's JSON export (MESSAGE,
// PRIORITY, __REALTIME_TIMESTAMP in µs, SYSLOG_IDENTIFIER / _SYSTEMD_UNIT). The inner line is parsed
// as a line of its own, so its level and fields are kept; the envelope's time and names fill what the
// line lacks. ok is false for any other JSON object.
func (p *Parser) envelope(kv map[string]string, depth int) (investigate.LogRecord, bool) {
	if depth > 0 {
		return investigate.LogRecord{}, false
	}
	if line, ok := kv["log"]; ok {
		stream, hasStream := kv["stream"]
		if _, hasTime := kv["time"]; !hasStream || !hasTime {
			return investigate.LogRecord{}, false
		}
		rec := p.parseLine(strings.TrimRight(line, "\r\n"), depth+1)
		if rec.Time.IsZero() {
			rec.Time, _ = investigate.ParseLogTime(kv["time"])
		}
		rec.Fields = withField(rec.Fields, "stream", stream)
		for k, v := range kv {
			if strings.HasPrefix(k, "attrs.") {
				rec.Fields = withField(rec.Fields, k, v)
			}
		}
		return rec, true
	}
	msg, hasMsg := kv["MESSAGE"]
	ts, hasTS := kv["__REALTIME_TIMESTAMP"]
	if !hasMsg || !hasTS {
		return investigate.LogRecord{}, false
	}
	rec := p.parseLine(msg, depth+1)
	if rec.Time.IsZero() {
		if us, err := strconv.ParseInt(ts, 10, 64); err == nil {
			rec.Time = time.UnixMicro(us).UTC()
		}
	}
	if rec.Level == "" {
		if n, err := strconv.Atoi(kv["PRIORITY"]); err == nil && n >= 0 && n < len(syslogLevels) {
			rec.Level = syslogLevels[n]
		}
	}
	if rec.Service == "" {
		rec.Service = kv["SYSLOG_IDENTIFIER"]
		if rec.Service == "" {
			rec.Service = strings.TrimSuffix(kv["_SYSTEMD_UNIT"], ".service")
		}
	}
	for _, k := range []string{"_SYSTEMD_UNIT", "_PID", "_HOSTNAME", "_COMM", "CONTAINER_NAME", "PRIORITY"} {
		if v := kv[k]; v != "" {
			rec.Fields = withField(rec.Fields, k, v)
		}
	}
	return rec, true
}

func withField(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}
