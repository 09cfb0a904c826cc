package investigate

import (
	"fmt"
	"strings"
)

// endpointKeySep separates service and operation in an EndpointKey's text form: a control character
// neither a service nor a route contains.
const endpointKeySep = "\x1f"

// MarshalText lets hotspot inputs (maps keyed by endpoint) round-trip through JSON, for bundles.
func (k EndpointKey) MarshalText() ([]byte, error) {
	return []byte(k.Service + endpointKeySep + k.Operation), nil
}

// UnmarshalText reads the form MarshalText writes.
func (k *EndpointKey) UnmarshalText(b []byte) error {
	svc, op, ok := strings.Cut(string(b), endpointKeySep)
	if !ok {
		return fmt.Errorf("endpoint key %q: no separator", b)
	}
	k.Service, k.Operation = svc, op
	return nil
}
