package report

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestJSON_MatchesSchema checks the fixture's report, which has a
// source with no backup or drill and so many null fields, against
// docs/report.schema.json.
func TestJSON_MatchesSchema(t *testing.T) {
	f := newFixture(t)
	rep, err := Build(context.Background(), f.repo, f.input)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var buf bytes.Buffer
	if err := rep.JSON(&buf); err != nil {
		t.Fatalf("JSON: %v", err)
	}

	path := filepath.Join("..", "..", "docs", "report.schema.json")
	schemaFile, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer schemaFile.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(schemaFile)
	if err != nil {
		t.Fatalf("%s is not JSON: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("report.schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}

	doc, err := jsonschema.UnmarshalJSON(&buf)
	if err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Errorf("report does not match %s: %v", path, err)
	}
}
