package netpolicy

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// A label selector, as apimachinery's metav1.LabelSelectorAsSelector turns one into labels.Selector: nil
// selects nothing, an empty one everything; every matchLabels pair and matchExpressions entry must hold.
// In: the label is set to one of the values; NotIn: it is unset or set to none of them; Exists: set;
// DoesNotExist: unset. Keys and values are validated as NewRequirement does (a qualified name; a label
// value), In/NotIn need values and Exists/DoesNotExist none. TestSelectorMatchesApimachinery compares it
// with apimachinery on a table of selectors and label sets.

type requirement struct {
	key, op string
	values  []string
}

var (
	labelName = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	dnsSub    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

func validKey(k string) error {
	name := k
	if prefix, n, ok := strings.Cut(k, "/"); ok {
		if prefix == "" || len(prefix) > 253 || !dnsSub.MatchString(prefix) {
			return fmt.Errorf("label key %q: the prefix must be a DNS subdomain", k)
		}
		name = n
	}
	if name == "" || len(name) > 63 || !labelName.MatchString(name) {
		return fmt.Errorf("label key %q: want a name of at most 63 alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric, optionally prefixed by a DNS subdomain and '/'", k)
	}
	return nil
}

func validValue(k, v string) error {
	if v != "" && (len(v) > 63 || !labelName.MatchString(v)) {
		return fmt.Errorf("label %q value %q: want at most 63 alphanumerics, '-', '_' or '.', beginning and ending with an alphanumeric", k, v)
	}
	return nil
}

// requirements is the selector's requirements sorted by key, or the first validation error.
func (s *LabelSelector) requirements() ([]requirement, error) {
	var reqs []requirement
	for k, v := range s.MatchLabels {
		reqs = append(reqs, requirement{key: k, op: "=", values: []string{v}})
	}
	for _, e := range s.MatchExpressions {
		r := requirement{key: e.Key, values: e.Values}
		switch e.Operator {
		case "In", "NotIn":
			r.op = strings.ToLower(e.Operator)
			if len(e.Values) == 0 {
				return nil, fmt.Errorf("%s %s: values set can't be empty", e.Key, e.Operator)
			}
		case "Exists", "DoesNotExist":
			r.op = e.Operator
			if len(e.Values) != 0 {
				return nil, fmt.Errorf("%s %s: values set must be empty", e.Key, e.Operator)
			}
		default:
			return nil, fmt.Errorf("%q is not a valid label selector operator", e.Operator)
		}
		reqs = append(reqs, r)
	}
	for _, r := range reqs {
		if err := validKey(r.key); err != nil {
			return nil, err
		}
		for _, v := range r.values {
			if err := validValue(r.key, v); err != nil {
				return nil, err
			}
		}
	}
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].key < reqs[j].key })
	return reqs, nil
}

// Matches says whether the labels satisfy the selector; nil matches nothing.
func (s *LabelSelector) Matches(l map[string]string) (bool, error) {
	if s == nil {
		return false, nil
	}
	reqs, err := s.requirements()
	if err != nil {
		return false, err
	}
	for _, r := range reqs {
		v, set := l[r.key]
		var ok bool
		switch r.op {
		case "=", "in":
			ok = set && slices.Contains(r.values, v)
		case "notin":
			ok = !set || !slices.Contains(r.values, v)
		case "Exists":
			ok = set
		case "DoesNotExist":
			ok = !set
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// String writes the selector as metav1.FormatLabelSelector does: "app=x,tier in (a,b),!canary", <none>
// for the empty selector, <error> for an invalid one.
func (s *LabelSelector) String() string {
	if s == nil {
		return "<none>"
	}
	reqs, err := s.requirements()
	if err != nil {
		return "<error>"
	}
	if len(reqs) == 0 {
		return "<none>"
	}
	parts := make([]string, len(reqs))
	for i, r := range reqs {
		switch r.op {
		case "=":
			parts[i] = r.key + "=" + r.values[0]
		case "in", "notin":
			vs := slices.Clone(r.values)
			sort.Strings(vs)
			parts[i] = r.key + " " + r.op + " (" + strings.Join(vs, ",") + ")"
		case "Exists":
			parts[i] = r.key
		case "DoesNotExist":
			parts[i] = "!" + r.key
		}
	}
	return strings.Join(parts, ",")
}
