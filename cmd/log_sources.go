package cmd

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dbgtool/dbg/investigate"
	"github.com/dbgtool/dbg/sources/elasticsearch"
	"github.com/dbgtool/dbg/sources/files"
	"github.com/dbgtool/dbg/sources/logline"
	"github.com/dbgtool/dbg/sources/loki"
	"github.com/dbgtool/dbg/sources/victorialogs"
)

// buildLogSource picks the source: --file, else the one configured log store (log-source chooses when
// several are).
func buildLogSource(s *Settings, f *Factory, file string) (LogSource, string, error) {
	names := fieldNamesFromConfig(s.Sub("log-fields"))
	renames := s.v.GetStringMapString("log-query-fields")
	if file != "" {
		lf, err := logline.ParseFormat(s.String("format"))
		if err != nil {
			return nil, "", &UsageError{Err: err}
		}
		var re *regexp.Regexp
		if expr := s.String("line-regex"); expr != "" {
			if re, err = regexp.Compile(expr); err != nil {
				return nil, "", usageErrorf("--line-regex: %v", err)
			}
			if lf == logline.FormatAuto {
				lf = logline.FormatPlain
			}
		}
		src := &files.LogFile{Path: file, Stdin: f.IO.In, Parser: logline.NewParser(lf, names, re), Renames: renames}
		return src, src.Name(), nil
	}
	configured := []string{}
	for _, k := range []string{"loki", "elasticsearch", "victorialogs"} {
		if s.IsSet(k + "-url") {
			configured = append(configured, k)
		}
	}
	pick := strings.ToLower(s.String("log-source"))
	switch {
	case pick != "":
		if !s.IsSet(pick + "-url") {
			return nil, "", usageErrorf("log-source %q: want loki, elasticsearch or victorialogs, with its URL set (--%s-url)", pick, pick)
		}
	case len(configured) == 1:
		pick = configured[0]
	case len(configured) == 0:
		return nil, "", usageErrorf("dbg logs: no log source; set --loki-url, --elasticsearch-url or --victorialogs-url (or DBG_*_URL, or the config file), or use --file")
	default:
		return nil, "", usageErrorf("dbg logs: several log stores are configured (%s); choose one with log-source in the config or DBG_LOG_SOURCE", strings.Join(configured, ", "))
	}
	ep := s.Endpoint(pick)
	switch pick {
	case "loki":
		cfg := loki.Config{ServiceLabel: s.String("loki-service-label"), LevelLabel: s.String("loki-level-label"),
			TraceLabel: s.String("loki-trace-label"), PageSize: s.Int("loki-page-size"), Names: names,
			Format: s.String("loki-format"), Renames: renames}
		if v := s.String("loki-stream-labels"); v != "" {
			cfg.StreamLabels = strings.Split(v, ",")
		}
		c, err := loki.New(ep, cfg)
		if err != nil {
			return nil, "", &UsageError{Err: err}
		}
		return c, "Loki", nil
	case "elasticsearch":
		m := s.v.GetStringMapString("elasticsearch-fields")
		cfg := elasticsearch.Config{Index: s.String("elasticsearch-index"), PageSize: s.Int("elasticsearch-page-size"),
			NoPIT: s.IsSet("elasticsearch-pit") && !s.Bool("elasticsearch-pit"),
			Fields: elasticsearch.Fields{Time: m["time"], Service: m["service"], Level: m["level"], Message: m["message"],
				TraceID: m["trace_id"], SpanID: m["span_id"], Renames: renames}}
		if v := m["correlation_id"]; v != "" {
			cfg.Fields.CorrelationID = strings.Split(v, ",")
		}
		c, err := elasticsearch.New(ep, cfg)
		if err != nil {
			return nil, "", &UsageError{Err: err}
		}
		return c, "Elasticsearch", nil
	default:
		cfg := victorialogs.Config{Fields: victorialogs.DefaultFields(), Names: names}
		cfg.Fields.Renames = renames
		m := s.v.GetStringMapString("victorialogs-fields")
		pre := func(key string, list []string) []string {
			if v := m[key]; v != "" {
				return append(strings.Split(v, ","), list...)
			}
			return list
		}
		cfg.Fields.Service = pre("service", cfg.Fields.Service)
		cfg.Fields.Level = pre("level", cfg.Fields.Level)
		cfg.Fields.TraceID = pre("trace_id", cfg.Fields.TraceID)
		cfg.Fields.SpanID = pre("span_id", cfg.Fields.SpanID)
		cfg.Fields.CorrelationID = pre("correlation_id", cfg.Fields.CorrelationID)
		c, err := victorialogs.New(ep, cfg)
		if err != nil {
			return nil, "", &UsageError{Err: err}
		}
		return c, "VictoriaLogs", nil
	}
}

// fieldNamesFromConfig reads the log-fields map (time, service, level, message, trace_id, span_id,
// correlation_id → a field name, or several separated by commas) for parsing records.
func fieldNamesFromConfig(m map[string]any) investigate.FieldNames {
	get := func(k string) []string {
		v, ok := m[k]
		if !ok {
			return nil
		}
		str := strings.TrimSpace(fmt.Sprint(v))
		if str == "" {
			return nil
		}
		return strings.Split(str, ",")
	}
	return investigate.FieldNames{Time: get("time"), Service: get("service"), Level: get("level"), Message: get("message"),
		TraceID: get("trace_id"), SpanID: get("span_id"), CorrelationID: get("correlation_id")}
}
