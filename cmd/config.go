package cmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/render"
	"github.com/dbgtool/dbg/sources/httpx"
	"github.com/dbgtool/dbg/sources/safeio"
)

// Backends that take an endpoint: each has <name>-url and the auth keys below.
var backends = []struct{ key, name, flag, help string }{
	{"jaeger", "Jaeger", "--jaeger-url", "Jaeger query API: http(s)://host:16686, or grpc(s)://host:16685"},
	{"prometheus", "Prometheus", "--prometheus-url", "Prometheus (or Thanos, Mimir, VictoriaMetrics) HTTP API base URL"},
	{"loki", "Loki", "--loki-url", "Loki base URL"},
	{"elasticsearch", "Elasticsearch", "--elasticsearch-url", "Elasticsearch or OpenSearch base URL"},
	{"victorialogs", "VictoriaLogs", "--victorialogs-url", "VictoriaLogs base URL"},
	{"target", "pprof target", "--target", "a Go service's pprof base URL, e.g. http://host:6060"},
}

func addGlobalFlags(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringP("output", "o", "table", "output format: table, json, markdown (some commands: html, jsonl)")
	pf.Bool("no-color", false, "disable colour (also NO_COLOR)")
	pf.String("config", "", "config file (default $XDG_CONFIG_HOME/dbg/config.yaml)")
	pf.String("context", "", "named context from the config file (like kubectl contexts)")
	pf.Duration("timeout", 30*time.Second, "overall deadline, and the limit for each backend request")
	pf.String("since", "30m", "start of the window: a duration back from --until (30m, 2h, 1d) or a time (RFC 3339, Unix)")
	pf.String("until", "", "end of the window: RFC 3339 or Unix time (default now)")
	pf.String("baseline", "", "how far back the comparison window is (default: the window just before --since; 1d: a day earlier)")
	pf.String("service", "", "service to investigate")
	pf.Bool("insecure-skip-verify", false, "do not verify backends' TLS certificates (only when you must)")
	for _, b := range backends {
		name := strings.TrimPrefix(b.flag, "--")
		pf.String(name, "", b.help)
	}
	pf.String("jaeger-ui-url", "", "Jaeger UI base URL for links, when it differs from --jaeger-url")
	pf.String("max-read-bytes", "", "memory budget of one run: bytes read from all sources and files together, decompressed (default 1GiB; e.g. 4GiB)")
}

// Settings are the resolved configuration of one command run: flag > environment (DBG_*) > the selected
// context of the config file > the config file's top level > default.
type Settings struct {
	v *viper.Viper
	// File is the config file that was read, empty for none.
	File string
	// Context is the selected named context, empty for none.
	Context string
	// budget is the run's memory budget, shared by every source and file read of the run.
	budget *safeio.Budget
}

// Budget is the run's memory budget (--max-read-bytes), one for every source of the run.
func (s *Settings) Budget() *safeio.Budget { return s.budget }

// loadSettings resolves the settings for cmd.
func loadSettings(cmd *cobra.Command, f *Factory) (*Settings, error) {
	v := viper.New()
	v.SetEnvPrefix("DBG")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	var bindErr error
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if err := v.BindPFlag(fl.Name, fl); err != nil && bindErr == nil {
			bindErr = err
		}
	})
	if bindErr != nil {
		return nil, bindErr
	}
	s := &Settings{v: v}
	file := v.GetString("config")
	explicit := file != ""
	if !explicit {
		file = defaultConfigPath(f.Getenv)
	}
	if file != "" {
		if _, err := os.Stat(file); err == nil || explicit {
			v.SetConfigFile(file)
			v.SetConfigType("yaml")
			if err := v.ReadInConfig(); err != nil {
				return nil, fmt.Errorf("config file %s: %w", file, unwrapViper(err))
			}
			s.File = file
		}
	}
	ctxName := v.GetString("context")
	if ctxName == "" {
		ctxName = v.GetString("current-context")
	}
	if ctxName != "" {
		all := v.GetStringMap("contexts")
		m, ok := all[ctxName].(map[string]any)
		if !ok {
			names := make([]string, 0, len(all))
			for k := range all {
				names = append(names, k)
			}
			sort.Strings(names)
			where := "no config file was found"
			if s.File != "" {
				where = "not in " + s.File
			}
			return nil, &UsageError{Err: fmt.Errorf("context %q: %s (contexts: %s)", ctxName, where, strings.Join(names, ", "))}
		}
		if err := v.MergeConfigMap(m); err != nil {
			return nil, err
		}
		s.Context = ctxName
	}
	limit, err := parseBytes(v.GetString("max-read-bytes"))
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("max-read-bytes: %w", err)}
	}
	s.budget = safeio.NewBudget(limit)
	if f.MemoryLimit != nil && f.Getenv("GOMEMLIMIT") == "" {
		// The budget bounds what is read; the garbage collector must also keep what was read and
		// dropped (a failed response's buffer) from piling up: a soft limit a little above the budget
		// (without it, 8 hostile answers within a 1 GiB budget peaked at 2.5 GB RSS).
		f.MemoryLimit(s.budget.Limit() + s.budget.Limit()/4 + 256<<20)
	}
	return s, nil
}

// parseBytes reads a byte count: a number, or one with a unit (KiB, MiB, GiB, KB, MB, GB, K, M, G).
func parseBytes(raw string) (int64, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(raw), strings.ToUpper(u.suffix)) {
			raw, mult = strings.TrimSpace(raw[:len(raw)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(raw, 64)
	if err != nil || n <= 0 || n*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("%q is not a byte count (e.g. 2GiB, 512MiB)", raw)
	}
	return int64(n * float64(mult)), nil
}

func unwrapViper(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "While parsing config: "); i >= 0 {
		msg = msg[i+len("While parsing config: "):]
	}
	return fmt.Errorf("%s", msg)
}

func defaultConfigPath(getenv func(string) string) string {
	if p := getenv("DBG_CONFIG"); p != "" {
		return p
	}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "dbg", "config.yaml")
}

// String returns a setting.
func (s *Settings) String(key string) string { return s.v.GetString(key) }

// Bool returns a setting.
func (s *Settings) Bool(key string) bool { return s.v.GetBool(key) }

// Int returns a setting.
func (s *Settings) Int(key string) int { return s.v.GetInt(key) }

// Duration returns a setting ("30s", "2m"); a bad value is an error naming the key.
func (s *Settings) Duration(key string) (time.Duration, error) {
	raw := s.v.GetString(key)
	if raw == "" {
		return 0, nil
	}
	d, err := investigate.ParseDuration(raw)
	if err != nil {
		return 0, &UsageError{Err: fmt.Errorf("%s %q: not a duration", key, raw)}
	}
	return d, nil
}

// IsSet reports whether a key has a value from any layer.
func (s *Settings) IsSet(key string) bool { return s.v.IsSet(key) && s.v.GetString(key) != "" }

// Sub returns the map under key (e.g. a metric-convention override), nil when absent.
func (s *Settings) Sub(key string) map[string]any { return s.v.GetStringMap(key) }

// Timeout is the overall deadline.
func (s *Settings) Timeout() time.Duration {
	d, err := s.Duration("timeout")
	if err != nil || d <= 0 {
		return 30 * time.Second
	}
	return d
}

// Endpoint builds the HTTP endpoint of a backend ("jaeger", "prometheus", ...) from its keys:
// <name>-url, <name>-token, <name>-username, <name>-password, <name>-ca-file, <name>-headers,
// <name>-max-response-bytes, <name>-timeout and the global insecure-skip-verify.
func (s *Settings) Endpoint(key string) httpx.Endpoint {
	ep := httpx.Endpoint{Name: key, Flag: "--" + key + "-url"}
	for _, b := range backends {
		if b.key == key {
			ep.Name, ep.Flag = b.name, b.flag
		}
	}
	urlKey := key + "-url"
	if key == "target" {
		urlKey = "target"
	}
	ep.URL = s.String(urlKey)
	ep.Token = s.String(key + "-token")
	ep.Username = s.String(key + "-username")
	ep.Password = s.String(key + "-password")
	ep.CAFile = s.String(key + "-ca-file")
	ep.InsecureSkipVerify = s.Bool("insecure-skip-verify") || s.Bool(key+"-insecure-skip-verify")
	if h := s.v.GetStringMapString(key + "-headers"); len(h) > 0 {
		ep.Headers = h
	}
	ep.MaxBytes = s.v.GetInt64(key + "-max-response-bytes")
	ep.Budget = s.budget
	ep.Timeout = s.Timeout()
	if d, err := s.Duration(key + "-timeout"); err == nil && d > 0 {
		ep.Timeout = d
	}
	return ep
}

// Window parses --since, --until and --baseline against now.
func (s *Settings) Window(now time.Time) (investigate.Window, error) {
	w, err := investigate.ParseWindow(s.String("since"), s.String("until"), s.String("baseline"), now)
	if err != nil {
		return w, &UsageError{Err: err}
	}
	return w, nil
}

// Format checks --output against what the command supports.
func (s *Settings) Format(allowed ...render.Format) (render.Format, error) {
	f, err := render.ParseFormat(s.String("output"), allowed...)
	if err != nil {
		return f, &UsageError{Err: err}
	}
	return f, nil
}

// RenderOptions are the presentation settings: colour only on a terminal, never with --no-color or
// NO_COLOR set.
func (s *Settings) RenderOptions(f *Factory) render.Options {
	color := f.IO.OutTTY && !s.Bool("no-color") && f.Getenv("NO_COLOR") == ""
	ui := s.String("jaeger-ui-url")
	if ui == "" {
		if u := s.String("jaeger-url"); strings.HasPrefix(u, "http") {
			ui = httpx.Redact(u)
			if strings.Contains(ui, "REDACTED") {
				ui = ""
			}
		}
	}
	return render.Options{Color: color, Width: f.IO.Width, JaegerUI: ui}
}

// parseByteSize reads "512MiB", "2GB", "1.5G", "1048576".
func parseByteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, errors.New("want a size like 512MiB or 2GB")
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kb": 1e3, "kib": 1 << 10, "m": 1 << 20, "mb": 1e6,
		"mib": 1 << 20, "g": 1 << 30, "gb": 1e9, "gib": 1 << 30, "t": 1 << 40, "tb": 1e12, "tib": 1 << 40}
	m, ok := mult[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", unit)
	}
	return int64(v * m), nil
}
