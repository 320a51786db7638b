package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/lifeline-backup/lifeline/internal/restore"
)

// diffReport is one namespace's diff as printed by --diff-format json.
type diffReport struct {
	Source    string              `json:"source"`
	Namespace string              `json:"namespace"`
	Target    string              `json:"target,omitempty"`
	Counts    map[string]int64    `json:"counts"`
	Samples   map[string][]string `json:"samples"`
}

func newDiffReport(src, ns, target string, d restore.Diff) diffReport {
	r := diffReport{Source: src, Namespace: ns, Target: target,
		Counts: map[string]int64{}, Samples: map[string][]string{}}
	for k := restore.Add; k < restore.Kind(restore.Kinds); k++ {
		r.Counts[k.String()] = d.Counts[k]
		keys := []string{}
		for _, key := range d.Samples[k] {
			keys = append(keys, quoteKey(key))
		}
		r.Samples[k.String()] = keys
	}
	return r
}

// quoteKey prints a key with non-printable bytes escaped, in Go syntax.
func quoteKey(key []byte) string {
	q := fmt.Sprintf("%+q", key)
	return q[1 : len(q)-1]
}

func checkDiffFormat(f string) error {
	if f != "text" && f != "json" {
		return usagef("--diff-format %q is invalid: use text or json", f)
	}
	return nil
}

// printDiffs writes diff reports as text or as a JSON array.
func printDiffs(w io.Writer, format string, reports []diffReport) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if reports == nil {
			reports = []diffReport{}
		}
		return enc.Encode(reports)
	}
	for _, r := range reports {
		head := r.Source + "/" + r.Namespace
		if r.Target != "" {
			head += " -> " + r.Target
		}
		fmt.Fprintln(w, head)
		var counts []string
		for k := restore.Add; k < restore.Kind(restore.Kinds); k++ {
			counts = append(counts, fmt.Sprintf("%s %d", k,
				r.Counts[k.String()]))
		}
		fmt.Fprintf(w, "  %s\n", strings.Join(counts, "  "))
		for k := restore.Add; k < restore.Kind(restore.Kinds); k++ {
			if keys := r.Samples[k.String()]; len(keys) > 0 &&
				k != restore.Unchanged {
				fmt.Fprintf(w, "  %s: %s\n", k, strings.Join(keys, "  "))
			}
		}
	}
	return nil
}
