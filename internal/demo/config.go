// Package demo is dbg's proving ground: a small system of real Go HTTP services (frontend → checkout →
// inventory and payment → fraud-check, payment → gateway), instrumented the way production services are
// — OpenTelemetry traces over OTLP/HTTP, Prometheus metrics with client_golang, JSON logs with trace and
// correlation IDs shipped to VictoriaLogs, net/http/pprof, a circuit breaker and a bulkhead — with
// faults injected at runtime through an admin endpoint on each service, and a bounded load generator.
//
// Every service runs in its own process (so Go runtime metrics and profiles are per service, as in
// production), on 127.0.0.1 only. Start runs the parent: it starts the children, waits for them, runs
// the load generator and writes a state file that `go run ./demo fault` reads.
package demo

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// The services, by the names they report as service.name.
const (
	Frontend  = "frontend"
	Checkout  = "checkout"
	Inventory = "inventory"
	Payment   = "payment"
	Fraud     = "fraud-check"
	Gateway   = "gateway"
	// LoadGen is the load generator in the parent process; it takes the traffic-spike fault.
	LoadGen = "loadgen"
)

// Services lists the services in start order (dependencies first).
var Services = []string{Inventory, Fraud, Gateway, Payment, Checkout, Frontend}

// peersOf says whom each service calls.
var peersOf = map[string][]string{
	Frontend: {Checkout, Inventory},
	Checkout: {Inventory, Payment},
	Payment:  {Fraud, Gateway},
}

// BaseVersion is every service's service.version until a deploy fault changes it.
const BaseVersion = "1.4.2"

// ServiceConfig is what one service process needs; the parent passes it as JSON in EnvService.
type ServiceConfig struct {
	Name    string            `json:"name"`
	Addr    string            `json:"addr"`               // 127.0.0.1:port to listen on
	Peers   map[string]string `json:"peers,omitempty"`    // service name → base URL
	OTLPURL string            `json:"otlp_url,omitempty"` // OTLP/HTTP traces URL (…/v1/traces); "" disables export
	// VictoriaLogsURL receives the JSON logs at /insert/jsonline; "" disables shipping.
	VictoriaLogsURL string `json:"victorialogs_url,omitempty"`
	DBPath          string `json:"db_path,omitempty"` // inventory's SQLite file
	Rows            int    `json:"rows,omitempty"`    // inventory's item count
	// BatchTimeout is how long spans wait in the batch processor before export.
	BatchTimeout time.Duration `json:"batch_timeout,omitempty"`
}

// EnvService carries a ServiceConfig (JSON) to a child process; a program that sees it set runs one
// service (ServeFromEnv) instead of its usual work.
const EnvService = "DBG_DEMO_SERVICE"

// configFromEnv reads the child's config.
func configFromEnv() (ServiceConfig, error) {
	raw := os.Getenv(EnvService)
	if raw == "" {
		return ServiceConfig{}, fmt.Errorf("%s is not set", EnvService)
	}
	var c ServiceConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return c, fmt.Errorf("%s: %w", EnvService, err)
	}
	if c.Name == "" || c.Addr == "" {
		return c, fmt.Errorf("%s: name and addr are required", EnvService)
	}
	return c, nil
}
