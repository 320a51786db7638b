package notify

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// stateVersion is the version of the state file format.
const stateVersion = 1

// jobKey identifies the jobs whose state a Dispatcher tracks.
type jobKey struct{ job, source, tier string }

// jobState is the last known outcome of one job.
type jobState struct {
	Job    string `json:"job"`
	Source string `json:"source"`
	Tier   string `json:"tier"`
	Failed bool   `json:"failed"`
	// Since is when the job last changed between failed and ok.
	Since time.Time `json:"since"`
	// Pending lists, by their String, the notifiers that have not
	// accepted the Failed or Recovered event of the last change.
	Pending []string `json:"pending,omitempty"`
}

// stateFile is the JSON document kept at DispatchConfig.StatePath.
type stateFile struct {
	Version int         `json:"version"`
	Jobs    []*jobState `json:"jobs"`
}

// loadState reads the state file at path. A missing file is an empty
// state.
func loadState(path string) (map[jobKey]*jobState, error) {
	states := map[jobKey]*jobState{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return states, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load notification state: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("load notification state %s: %w", path, err)
	}
	if f.Version != stateVersion {
		return nil, fmt.Errorf("load notification state %s: version %d, "+
			"want %d", path, f.Version, stateVersion)
	}
	for _, st := range f.Jobs {
		states[jobKey{st.Job, st.Source, st.Tier}] = st
	}
	return states, nil
}

// saveState replaces the state file at path in one rename, so that a
// reader never sees a partial file.
func saveState(path string, states map[jobKey]*jobState) error {
	f := stateFile{Version: stateVersion}
	for _, st := range states {
		f.Jobs = append(f.Jobs, st)
	}
	slices.SortFunc(f.Jobs, func(a, b *jobState) int {
		return cmp.Or(cmp.Compare(a.Job, b.Job),
			cmp.Compare(a.Source, b.Source), cmp.Compare(a.Tier, b.Tier))
	})
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("save notification state %s: %w", path, err)
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("save notification state: %w", err)
	}
	return nil
}

// writeFileAtomic writes b to a temporary file next to path, syncs it and
// renames it over path.
func writeFileAtomic(path string, b []byte) error {
	// The state folder is created on first use, readable by the owner
	// only.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
