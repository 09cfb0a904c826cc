package jaeger

import (
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/dbgtool/dbg/investigate"
)

// Memo answers one run's searches (one checklist) without asking Jaeger the same thing twice. Jaeger's
// search has no error filter that works the same on every version and storage backend, so an errors-only
// search is a plain search for more traces (see errorsOverfetch) filtered here: a plain and an errors
// search of the same service and range are one question of two sizes. Memo keeps each range's answer, as
// Jaeger returned it, and answers a later search of that range from it when the held answer is big
// enough: it holds at least as many traces as the new search would ask for, or it was complete (Jaeger
// returned fewer than asked, so the range has no more). Otherwise it asks Jaeger and keeps the bigger
// answer. A run that makes the largest search of a range first downloads every trace of it once.
// It is for one run: a later run must see new traces.
type Memo struct {
	c    *Client
	mu   sync.Mutex
	held map[string]heldSearch
}

type heldSearch struct {
	asked int                  // the limit Jaeger was asked for
	ts    []*investigate.Trace // its answer, unfiltered
}

// NewMemo returns an empty memo over c.
func NewMemo(c *Client) *Memo { return &Memo{c: c, held: map[string]heldSearch{}} }

// Search is Client.Search, answered from what the memo holds when that is enough.
func (m *Memo) Search(ctx context.Context, q investigate.TraceQuery) ([]*investigate.Trace, error) {
	if strings.TrimSpace(q.Service) == "" || ctx.Err() != nil {
		return m.c.Search(ctx, q) // its error
	}
	q, ask := searchSize(q)
	key := memoKey(q)
	m.mu.Lock()
	h, ok := m.held[key]
	m.mu.Unlock()
	if !ok || (h.asked < ask.Limit && len(h.ts) >= h.asked) {
		ts, err := m.c.b.search(ctx, ask)
		if err != nil {
			return nil, scrub(err, m.c.secrets)
		}
		h = heldSearch{asked: ask.Limit, ts: ts}
		m.mu.Lock()
		if old, ok := m.held[key]; !ok || old.asked < h.asked {
			m.held[key] = h
		}
		m.mu.Unlock()
	}
	return filterSearch(append([]*investigate.Trace(nil), h.ts...), q), nil
}

// memoKey names a search's range and filters: everything but its size and the error filter, which
// Memo applies itself.
func memoKey(q investigate.TraceQuery) string {
	q.Errors, q.Limit = false, 0
	b, _ := json.Marshal(q) // a struct of strings, times, durations and a map (sorted keys): cannot fail
	return string(b)
}
