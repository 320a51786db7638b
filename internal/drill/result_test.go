package drill

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestResult_JSONMilliseconds(t *testing.T) {
	r := Result{ID: "d1", RTO: 1500 * time.Millisecond,
		RPO: 2 * time.Hour, Objectives: Objectives{RPO: time.Hour,
			RTO: 4 * time.Hour}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"rto_ms":1500`, `"rpo_ms":7200000`,
		`"objectives":{"rpo_ms":3600000,"rto_ms":14400000}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.RTO != r.RTO || back.RPO != r.RPO || back.Objectives != r.Objectives {
		t.Errorf("round trip = %+v, want %+v", back, r)
	}
}
