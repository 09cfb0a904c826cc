// Package corpus holds the test over testdata/external: public telemetry files from other projects
// (Jaeger, Jaeger UI, OpenTelemetry, google/pprof, Parca), each read by dbg and compared with what its
// own project expects of it. It has no code of its own.
package corpus
