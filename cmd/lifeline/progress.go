package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// progressLine redraws one status line on a terminal while a backup or
// restore runs: records so far per namespace. Off a terminal it is nil
// and every method does nothing, because logs already carry the steps.
type progressLine struct {
	mu     sync.Mutex
	w      io.Writer
	verb   string
	drawn  time.Time
	counts map[string]int64
}

// newProgress returns a progress line on w, or nil when w is not a
// terminal.
func newProgress(w io.Writer, verb string) *progressLine {
	if !isTerminal(w) {
		return nil
	}
	return &progressLine{w: w, verb: verb, counts: map[string]int64{}}
}

// update sets the count of one namespace and redraws at most five times
// a second.
func (p *progressLine) update(name string, records int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[name] = records
	if time.Since(p.drawn) < 200*time.Millisecond {
		return
	}
	p.drawn = time.Now()
	var parts []string
	var total int64
	for n, c := range p.counts {
		parts = append(parts, fmt.Sprintf("%s %d", n, c))
		total += c
	}
	sort.Strings(parts)
	line := fmt.Sprintf("%s: %d records (%s)", p.verb, total,
		strings.Join(parts, ", "))
	if len(line) > 120 {
		line = line[:117] + "..."
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
}

// clear erases the line, before a log line or at the end.
func (p *progressLine) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\033[K")
}
