package drill

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/lifeline-backup/lifeline/internal/repo"
)

// Result is the outcome of one drill of one source.
type Result struct {
	ID         string     `json:"id"`
	Source     string     `json:"source"`
	Target     string     `json:"target"`
	Objectives Objectives `json:"objectives"`
	Started    time.Time  `json:"started"`
	Finished   time.Time  `json:"finished"`
	// Snapshots lists the backups restored, newest first per namespace.
	Snapshots []string `json:"snapshots"`
	// DataTime is the start of the newest backup restored.
	DataTime time.Time `json:"data_time"`
	// RTO is the restore's wall time; RPO the data's age at the start.
	RTO        time.Duration     `json:"rto_ms"`
	RPO        time.Duration     `json:"rpo_ms"`
	Namespaces []NamespaceResult `json:"namespaces"`
	Passed     bool              `json:"passed"`
	Failures   []string          `json:"failures,omitempty"`
}

// NamespaceResult is the outcome of a drill in one namespace.
type NamespaceResult struct {
	Namespace   string       `json:"namespace"`
	Restored    int64        `json:"restored"`
	Expired     int64        `json:"expired"`
	Checked     int64        `json:"checked"`
	Differences int64        `json:"differences"`
	Samples     []Difference `json:"samples,omitempty"`
}

// Difference is one record the target did not hold as backed up.
type Difference struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

func (nr *NamespaceResult) differ(key []byte, reason string) {
	nr.Differences++
	if len(nr.Samples) < maxDifferences {
		nr.Samples = append(nr.Samples, Difference{
			Key: fmt.Sprintf("%+q", key), Reason: reason})
	}
}

// notePoint records the backups of a chain and the data's time.
func (r *Result) notePoint(chain []repo.Part) {
	for _, p := range chain {
		r.Snapshots = appendNew(r.Snapshots, p.Snapshot.ID)
	}
	if t := chain[0].Snapshot.Time; t.After(r.DataTime) {
		r.DataTime = t
	}
}

func appendNew(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

// judge sets Passed and Failures from the differences and objectives.
func (r *Result) judge() {
	r.RPO = r.Started.Sub(r.DataTime)
	for _, nr := range r.Namespaces {
		if nr.Differences > 0 {
			first := nr.Samples[0]
			r.Failures = append(r.Failures, fmt.Sprintf("namespace %s: %d "+
				"records differ from the backup; first: key %s %s",
				nr.Namespace, nr.Differences, first.Key, first.Reason))
		}
	}
	o := r.Objectives
	if o.RPO > 0 && r.RPO > o.RPO {
		r.Failures = append(r.Failures, fmt.Sprintf("RPO objective "+
			"missed: the data was %s old, the objective is %s",
			r.RPO.Round(time.Second), o.RPO))
	}
	if o.RTO > 0 && r.RTO > o.RTO {
		r.Failures = append(r.Failures, fmt.Sprintf("RTO objective "+
			"missed: the restore took %s, the objective is %s",
			r.RTO.Round(time.Millisecond), o.RTO))
	}
	r.Passed = len(r.Failures) == 0
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// millis is a duration written to JSON as whole milliseconds, the unit
// that the field names (rto_ms, rpo_ms) state.
type millis time.Duration

func (m millis) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(m).Milliseconds())
}

func (m *millis) UnmarshalJSON(b []byte) error {
	var ms int64
	if err := json.Unmarshal(b, &ms); err != nil {
		return err
	}
	*m = millis(time.Duration(ms) * time.Millisecond)
	return nil
}

type objectivesJSON struct {
	RPO millis `json:"rpo_ms"`
	RTO millis `json:"rto_ms"`
}

// MarshalJSON writes the objectives in milliseconds.
func (o Objectives) MarshalJSON() ([]byte, error) {
	return json.Marshal(objectivesJSON{millis(o.RPO), millis(o.RTO)})
}

// UnmarshalJSON reads objectives written by MarshalJSON.
func (o *Objectives) UnmarshalJSON(b []byte) error {
	var v objectivesJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.RPO, o.RTO = time.Duration(v.RPO), time.Duration(v.RTO)
	return nil
}

// resultAlias has Result's fields without its methods, so the JSON
// methods below can reuse the default encoding for the other fields.
type resultAlias Result

type resultJSON struct {
	*resultAlias
	RTO millis `json:"rto_ms"`
	RPO millis `json:"rpo_ms"`
}

// MarshalJSON writes RTO and RPO in milliseconds.
func (r Result) MarshalJSON() ([]byte, error) {
	a := resultAlias(r)
	return json.Marshal(resultJSON{&a, millis(r.RTO), millis(r.RPO)})
}

// UnmarshalJSON reads a result written by MarshalJSON.
func (r *Result) UnmarshalJSON(b []byte) error {
	v := resultJSON{resultAlias: (*resultAlias)(r)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.RTO, r.RPO = time.Duration(v.RTO), time.Duration(v.RPO)
	return nil
}
