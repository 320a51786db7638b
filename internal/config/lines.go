package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The UnmarshalYAML methods below record the line each item starts on, so
// validation errors can name it. yaml.v3 does not apply KnownFields to
// Node.Decode, so each also rejects unknown fields itself.

// UnmarshalYAML decodes a repository and records its line.
func (r *Repository) UnmarshalYAML(n *yaml.Node) error {
	type plain Repository
	r.Line = n.Line
	return decodeStrict(n, (*plain)(r))
}

// UnmarshalYAML decodes a key reference and records its line.
func (k *Key) UnmarshalYAML(n *yaml.Node) error {
	type plain Key
	k.Line = n.Line
	return decodeStrict(n, (*plain)(k))
}

// UnmarshalYAML decodes a source and records its line.
func (s *Source) UnmarshalYAML(n *yaml.Node) error {
	type plain Source
	s.Line = n.Line
	return decodeStrict(n, (*plain)(s))
}

// UnmarshalYAML decodes a namespace and records its line.
func (ns *Namespace) UnmarshalYAML(n *yaml.Node) error {
	type plain Namespace
	ns.Line = n.Line
	return decodeStrict(n, (*plain)(ns))
}

// decodeStrict decodes a mapping node into the struct v points to, and
// fails on a key that no field of v is tagged with.
func decodeStrict(n *yaml.Node, v any) error {
	if n.Kind == yaml.MappingNode {
		known := fieldNames(reflect.TypeOf(v).Elem())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if !known[k.Value] {
				return fmt.Errorf("line %d: unknown field %q (known "+
					"fields: %s)", k.Line, k.Value, sortedKeys(known))
			}
		}
	}
	return n.Decode(v)
}

func fieldNames(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

func sortedKeys(m map[string]bool) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// UnmarshalYAML decodes a secret reference and records its line.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	type plain Secret
	s.Line = n.Line
	return decodeStrict(n, (*plain)(s))
}

// UnmarshalYAML decodes a copy and records its line.
func (c *Copy) UnmarshalYAML(n *yaml.Node) error {
	type plain Copy
	c.Line = n.Line
	return decodeStrict(n, (*plain)(c))
}

// UnmarshalYAML decodes a status check and records its line.
func (ch *Check) UnmarshalYAML(n *yaml.Node) error {
	type plain Check
	ch.Line = n.Line
	return decodeStrict(n, (*plain)(ch))
}

// UnmarshalYAML decodes the schedule and records its line.
func (sc *Schedule) UnmarshalYAML(n *yaml.Node) error {
	type plain Schedule
	sc.Line = n.Line
	return decodeStrict(n, (*plain)(sc))
}

// UnmarshalYAML decodes the drill section and records its line.
func (d *Drill) UnmarshalYAML(n *yaml.Node) error {
	type plain Drill
	d.Line = n.Line
	return decodeStrict(n, (*plain)(d))
}
