package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/lifeline-backup/lifeline/internal/drill"
)

// FormatVersion is the version of the JSON report; docs/report.schema.json
// describes it. A change that removes or renames a field raises it.
const FormatVersion = 1

// The JSON report mirrors Report with snake_case fields, times as
// RFC 3339 strings in UTC, RPOs and ages in whole seconds and RTOs in
// milliseconds. Absent values are null, never left out.

type jsonReport struct {
	FormatVersion       int            `json:"format_version"`
	Generated           string         `json:"generated_at"`
	Repository          jsonRepository `json:"repository"`
	PricePerGBMonth     float64        `json:"price_per_gb_month_usd"`
	IncrementalInterval int64          `json:"incremental_interval_seconds"`
	Retention           jsonRetention  `json:"retention"`
	Sources             []jsonSource   `json:"sources"`
	Keys                []jsonKey      `json:"keys"`
	Storage             jsonStorage    `json:"storage"`
	Controls            []jsonControl  `json:"controls"`
	Warnings            []string       `json:"warnings"`
}

type jsonRepository struct {
	Location string `json:"location"`
	ID       string `json:"id"`
}

type jsonRetention struct {
	Incremental int64 `json:"incremental_seconds"`
	Full        int64 `json:"full_seconds"`
	Complete    int64 `json:"complete_seconds"`
}

type jsonSource struct {
	Name             string         `json:"name"`
	Objectives       jsonObjectives `json:"objectives"`
	Backups          int            `json:"backups"`
	Newest           []jsonPoint    `json:"newest_backups"`
	RPO              jsonRPO        `json:"rpo"`
	Timeline         []jsonPoint    `json:"timeline"`
	LastDrill        *jsonDrill     `json:"last_drill"`
	LastPassedDrill  *jsonDrill     `json:"last_passed_drill"`
	OldestRestorable *string        `json:"oldest_restorable"`
}

// jsonObjectives holds zero for an objective that is not set.
type jsonObjectives struct {
	RPO int64 `json:"rpo_seconds"`
	RTO int64 `json:"rto_ms"`
}

type jsonPoint struct {
	Tier string `json:"tier"`
	ID   string `json:"id"`
	Time string `json:"time"`
}

type jsonRPO struct {
	MaxGap7d    *jsonGap `json:"max_gap_7d"`
	MaxGap30d   *jsonGap `json:"max_gap_30d"`
	SinceNewest *jsonGap `json:"since_newest"`
	Worst       *int64   `json:"worst_seconds"`
}

type jsonGap struct {
	From    string  `json:"from"`
	To      string  `json:"to"`
	FromID  string  `json:"from_id"`
	ToID    *string `json:"to_id"`
	Seconds int64   `json:"seconds"`
}

type jsonDrill struct {
	ID        string   `json:"id"`
	Target    string   `json:"target"`
	Started   string   `json:"started"`
	Finished  string   `json:"finished"`
	Passed    bool     `json:"passed"`
	RTO       int64    `json:"rto_ms"`
	RPO       int64    `json:"rpo_seconds"`
	Snapshots []string `json:"snapshots"`
	Failures  []string `json:"failures"`
}

type jsonKey struct {
	ID        string  `json:"id"`
	Primary   bool    `json:"primary"`
	InKeyring bool    `json:"in_keyring"`
	Backups   int     `json:"backups"`
	Only      int     `json:"only_key_backups"`
	Added     *string `json:"added"`
	AddedFrom *string `json:"added_from"`
	Age       *int64  `json:"age_seconds"`
}

type jsonStorage struct {
	Tiers       []jsonTier `json:"tiers"`
	Other       int64      `json:"other_bytes"`
	Total       int64      `json:"total_bytes"`
	MonthlyCost float64    `json:"monthly_cost_usd"`
}

type jsonTier struct {
	Tier        string  `json:"tier"`
	Backups     int     `json:"backups"`
	Bytes       int64   `json:"bytes"`
	MonthlyCost float64 `json:"monthly_cost_usd"`
}

type jsonControl struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Scope  string `json:"scope"`
	Met    bool   `json:"met"`
	Figure string `json:"figure"`
}

// JSON writes the report as one indented JSON object.
func (rep *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep.toJSON())
}

func (rep *Report) toJSON() jsonReport {
	out := jsonReport{
		FormatVersion: FormatVersion,
		Generated:     jsonTime(rep.Generated),
		Repository: jsonRepository{Location: rep.Repository,
			ID: rep.RepositoryID},
		PricePerGBMonth:     rep.PricePerGBMonth,
		IncrementalInterval: seconds(rep.IncrementalInterval),
		Retention: jsonRetention{
			Incremental: seconds(rep.Retention.Incremental),
			Full:        seconds(rep.Retention.Full),
			Complete:    seconds(rep.Retention.Complete),
		},
		Sources:  []jsonSource{},
		Keys:     []jsonKey{},
		Storage:  storageJSON(rep.Storage),
		Controls: []jsonControl{},
		Warnings: append([]string{}, rep.Warnings...),
	}
	for i := range rep.Sources {
		out.Sources = append(out.Sources, sourceJSON(&rep.Sources[i]))
	}
	for _, k := range rep.Keys {
		out.Keys = append(out.Keys, keyJSON(k))
	}
	for _, c := range rep.Controls {
		out.Controls = append(out.Controls, jsonControl(c))
	}
	return out
}

func sourceJSON(sr *SourceReport) jsonSource {
	out := jsonSource{
		Name: sr.Name,
		Objectives: jsonObjectives{RPO: seconds(sr.Objectives.RPO),
			RTO: sr.Objectives.RTO.Milliseconds()},
		Backups:  sr.Backups,
		Newest:   pointsJSON(sr.Newest),
		Timeline: pointsJSON(sr.Timeline),
		RPO: jsonRPO{
			MaxGap7d:    gapJSON(sr.MaxGap7d),
			MaxGap30d:   gapJSON(sr.MaxGap30d),
			SinceNewest: gapJSON(sr.SinceNewest),
		},
		LastDrill:        drillJSON(sr.LastDrill),
		LastPassedDrill:  drillJSON(sr.LastPassedDrill),
		OldestRestorable: optionalTime(sr.OldestRestorable),
	}
	if worst, ok := sr.WorstRPO(); ok {
		s := seconds(worst)
		out.RPO.Worst = &s
	}
	return out
}

func pointsJSON(points []Point) []jsonPoint {
	out := []jsonPoint{}
	for _, p := range points {
		out = append(out, jsonPoint{Tier: string(p.Tier), ID: p.ID,
			Time: jsonTime(p.Time)})
	}
	return out
}

func gapJSON(g *Gap) *jsonGap {
	if g == nil {
		return nil
	}
	out := &jsonGap{From: jsonTime(g.From), To: jsonTime(g.To),
		FromID: g.FromID, Seconds: seconds(g.Duration())}
	if g.ToID != "" {
		out.ToID = &g.ToID
	}
	return out
}

func drillJSON(d *drill.Result) *jsonDrill {
	if d == nil {
		return nil
	}
	return &jsonDrill{
		ID: d.ID, Target: d.Target,
		Started: jsonTime(d.Started), Finished: jsonTime(d.Finished),
		Passed: d.Passed, RTO: d.RTO.Milliseconds(), RPO: seconds(d.RPO),
		Snapshots: append([]string{}, d.Snapshots...),
		Failures:  append([]string{}, d.Failures...),
	}
}

func keyJSON(k KeyReport) jsonKey {
	out := jsonKey{ID: k.ID, Primary: k.Primary, InKeyring: k.InKeyring,
		Backups: k.Backups, Only: k.Only, Added: optionalTime(k.Added)}
	if !k.Added.IsZero() {
		from, age := k.AddedFrom, seconds(k.Age)
		out.AddedFrom, out.Age = &from, &age
	}
	return out
}

func storageJSON(st Storage) jsonStorage {
	out := jsonStorage{Tiers: []jsonTier{}, Other: st.Other,
		Total: st.Total, MonthlyCost: st.MonthlyCost}
	for _, t := range st.Tiers {
		out.Tiers = append(out.Tiers, jsonTier{Tier: string(t.Tier),
			Backups: t.Backups, Bytes: t.Bytes,
			MonthlyCost: t.MonthlyCost})
	}
	return out
}

func jsonTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := jsonTime(t)
	return &s
}

// seconds returns whole seconds, rounded down.
func seconds(d time.Duration) int64 { return int64(d / time.Second) }
