package bolt

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/lifeline-backup/lifeline/internal/source"
)

func TestSource_LockedFile(t *testing.T) {
	path := seedFile(t)
	// A read-write open takes the lock alone, as another writer would.
	holder, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer holder.Close()
	s := newSource(t, Config{Path: path})
	ctx := context.Background()

	_, readErr := s.Read(ctx, "ns")
	_, listErr := s.Namespaces(ctx)
	_, writeErr := s.Write(ctx, "ns", []source.Record{valueRec("k", "v")},
		source.Replace, time.Now())
	for name, err := range map[string]error{
		"Read": readErr, "Namespaces": listErr, "Write": writeErr,
	} {
		if err == nil {
			t.Errorf("%s on a locked file succeeded, want an error", name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, path) ||
			!strings.Contains(msg, "another process holds its lock") {
			t.Errorf("%s error %q does not name the path and the lock",
				name, msg)
		}
	}
}

func TestSource_MissingFile(t *testing.T) {
	path := tempFile(t, "missing.db")
	s := newSource(t, Config{Path: path, Buckets: []string{"ns"}})
	ctx := context.Background()

	_, readErr := s.Read(ctx, "ns")
	_, writeErr := s.Write(ctx, "ns", []source.Record{valueRec("k", "v")},
		source.Replace, time.Now())
	_, listErr := newSource(t, Config{Path: path}).Namespaces(ctx)
	for name, err := range map[string]error{
		"Read": readErr, "Write": writeErr, "Namespaces": listErr,
	} {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s error = %v, want fs.ErrNotExist", name, err)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s error %q does not name the path", name, err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat after failed Write: %v, want the file missing", err)
	}
}

func TestWrite_CreatesMissingFile(t *testing.T) {
	path := tempFile(t, "new.db")
	s := newSource(t, Config{Path: path, Create: true})
	_, err := s.Write(context.Background(), "ns",
		[]source.Record{valueRec("k", "v")}, source.KeepExisting, time.Now())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("file mode = %v, want 0600", mode)
	}
	if string(getValue(t, path, "k")) != "v" {
		t.Errorf("value at k missing from the new file")
	}
}

func TestIterator_EarlyCloseReleasesFile(t *testing.T) {
	path := seedFile(t)
	s := newSource(t, Config{Path: path})
	ctx := context.Background()
	it, err := s.Read(ctx, "ns")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if _, err := it.Next(ctx); err != nil {
		t.Fatalf("Next: %v", err)
	}

	// While the iterator is open, its read lock blocks a writer.
	_, err = s.Write(ctx, "ns", []source.Record{valueRec("k", "v")},
		source.Replace, time.Now())
	if err == nil {
		t.Fatal("Write while an iterator is open succeeded, want a " +
			"lock error")
	}

	if err := it.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := it.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := it.Next(ctx); err == nil {
		t.Fatal("Next after Close succeeded, want an error")
	}
	_, err = s.Write(ctx, "ns", []source.Record{valueRec("k", "v")},
		source.Replace, time.Now())
	if err != nil {
		t.Fatalf("Write after Close: %v", err)
	}
}

func TestIterator_CanceledContext(t *testing.T) {
	s := newSource(t, Config{Path: seedFile(t)})
	ctx, cancel := context.WithCancel(context.Background())
	it, err := s.Read(ctx, "ns")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	defer it.Close()
	cancel()
	if _, err := it.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next error = %v, want context.Canceled", err)
	}
}

func TestIterator_EOFRepeats(t *testing.T) {
	s := newSource(t, Config{Path: seedFile(t)})
	records := readAll(t, s, "ns")
	if len(records) != 5 {
		t.Fatalf("Read returned %d records, want 5", len(records))
	}
	ctx := context.Background()
	it, err := s.Read(ctx, "ns")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	defer it.Close()
	for range records {
		if _, err := it.Next(ctx); err != nil {
			t.Fatalf("Next: %v", err)
		}
	}
	for range 2 {
		if _, err := it.Next(ctx); !errors.Is(err, io.EOF) {
			t.Fatalf("Next at end = %v, want io.EOF", err)
		}
	}
}

func TestSource_UnknownNamespace(t *testing.T) {
	path := seedFile(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		buckets   []string
		namespace string
	}{
		{"not in file", nil, "absent"},
		{"configured but not in file", []string{"absent"}, "absent"},
		{"not configured", []string{"other"}, "ns"},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSource(t, Config{Path: path, Buckets: tt.buckets})
			_, err := s.Read(ctx, tt.namespace)
			if !errors.Is(err, source.ErrUnknownNamespace) {
				t.Fatalf("Read error = %v, want ErrUnknownNamespace", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the path", err)
			}
		})
	}
	s := newSource(t, Config{Path: path, Buckets: []string{"other"}})
	_, err := s.Write(ctx, "ns", nil, source.Replace, time.Now())
	if !errors.Is(err, source.ErrUnknownNamespace) {
		t.Fatalf("Write error = %v, want ErrUnknownNamespace", err)
	}
}

func TestSource_Namespaces(t *testing.T) {
	path := seedFile(t)
	update(t, path, func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte("b\x00in"))
		return err
	})
	ctx := context.Background()

	got, err := newSource(t, Config{Path: path}).Namespaces(ctx)
	if err != nil {
		t.Fatalf("Namespaces: %v", err)
	}
	if want := []string{"b\x00in", "ns"}; !slices.Equal(got, want) {
		t.Errorf("Namespaces = %q, want %q", got, want)
	}

	configured := []string{"z", "a"}
	got, err = newSource(t, Config{Path: path, Buckets: configured}).
		Namespaces(ctx)
	if err != nil {
		t.Fatalf("Namespaces with buckets: %v", err)
	}
	if !slices.Equal(got, configured) {
		t.Errorf("Namespaces = %q, want %q", got, configured)
	}
}

func TestNew_InvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"missing path", Config{}},
		{"empty bucket", Config{Path: "x.db", Buckets: []string{""}}},
		{"duplicate bucket", Config{Path: "x.db",
			Buckets: []string{"a", "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Fatalf("New(%+v) succeeded, want an error", tt.cfg)
			}
		})
	}
}

func TestSource_Describe(t *testing.T) {
	s := newSource(t, Config{Path: "/data/app.db"})
	if got, want := s.Describe(), "bolt /data/app.db"; got != want {
		t.Fatalf("Describe() = %q, want %q", got, want)
	}
}
