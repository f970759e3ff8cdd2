package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Where a setting's value came from, as Load reports it.
const (
	FromFlag    = "flag"
	FromEnv     = "environment"
	FromFile    = "file"
	FromDefault = "default"
)

// Sources says, for each flag, where its effective value came from.
type Sources map[string]string

// Load completes the flags of fs after the command line was parsed: the
// environment (RINGCAST_<FLAG>) fills what the command line left unset,
// then the config file (--config, or RINGCAST_CONFIG) what is still
// unset. Precedence: flags > environment > file > defaults. It reports
// where each value came from.
func Load(fs *pflag.FlagSet, getenv func(string) string) (Sources, error) {
	src := Sources{}
	fs.VisitAll(func(f *pflag.Flag) {
		src[f.Name] = FromDefault
		if f.Changed {
			src[f.Name] = FromFlag
		}
	})
	if err := ApplyEnv(fs, getenv); err != nil {
		return nil, err
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed && src[f.Name] == FromDefault {
			src[f.Name] = FromEnv
		}
	})
	path := ""
	if f := fs.Lookup("config"); f != nil {
		path = f.Value.String()
	}
	if path == "" {
		return src, nil
	}
	set, err := ApplyFile(fs, path)
	for _, name := range set {
		src[name] = FromFile
	}
	return src, err
}

// ApplyFile sets every flag of fs not set yet (by the command line or
// the environment) that the YAML file at path names, and returns the
// names it set. The file is one mapping from flag names to values: a
// scalar, or a list for the flags that take several (join, roles).
// Every error names the file, the line and the key: an unknown key, a
// value of the wrong shape (then nothing of the file is applied), a
// value the flag refuses. An empty list leaves the flag as it is.
func ApplyFile(fs *pflag.FlagSet, path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil // empty file
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config file %s line %d: want a mapping of setting: value", path, top.Line)
	}
	type setting struct {
		key   *yaml.Node
		value string
	}
	var todo []setting
	var errs []error
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		fail := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("config file %s line %d: %q: %s", path, k.Line, k.Value, fmt.Sprintf(format, a...)))
		}
		f := fs.Lookup(k.Value)
		switch {
		case k.Value == "config":
			fail("a config file cannot name another")
			continue
		case f == nil || f.Hidden:
			fail("unknown key (the keys are serve's flag names, without the dashes in front)")
			continue
		}
		value, err := scalarOrList(v)
		switch {
		case err != nil:
			fail("%v", err)
		case f.Changed: // the command line or the environment set it
		case v.Kind == yaml.SequenceNode && len(v.Content) == 0:
		default:
			todo = append(todo, setting{k, value})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var set []string
	for _, s := range todo {
		if err := fs.Set(s.key.Value, s.value); err != nil {
			errs = append(errs, fmt.Errorf("config file %s line %d: %q: %v", path, s.key.Line, s.key.Value, err))
			continue
		}
		set = append(set, s.key.Value)
	}
	return set, errors.Join(errs...)
}

// scalarOrList is a value node as a flag value: a scalar as written, a
// list of scalars joined with commas.
func scalarOrList(v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return "", errors.New("no value")
		}
		return v.Value, nil
	case yaml.SequenceNode:
		parts := make([]string, len(v.Content))
		for i, e := range v.Content {
			if e.Kind != yaml.ScalarNode {
				return "", errors.New("want a list of values")
			}
			parts[i] = e.Value
		}
		return strings.Join(parts, ","), nil
	}
	return "", errors.New("want a value or a list of values")
}

// secretFlags are printed masked.
var secretFlags = map[string]bool{"secret": true, "admin-key": true}

// Print writes the effective settings of fs as a config file, each with
// where its value came from; secrets are masked and a store URL's
// password hidden.
func Print(w io.Writer, fs *pflag.FlagSet, src Sources) error {
	top := &yaml.Node{Kind: yaml.MappingNode}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "config" || f.Name == "help" {
			return
		}
		value := f.Value.String()
		switch {
		case secretFlags[f.Name] && value != "":
			value = "(masked)"
		case f.Name == "store":
			value = redact(value)
		}
		var v *yaml.Node
		if f.Name == "join" || f.Name == "roles" {
			v = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, part := range strings.Split(value, ",") {
				if part != "" {
					v.Content = append(v.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: part})
				}
			}
		} else {
			v = &yaml.Node{Kind: yaml.ScalarNode, Value: value}
			if value == "" {
				v.Style = yaml.DoubleQuotedStyle
			}
		}
		v.LineComment = src[f.Name]
		top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: f.Name}, v)
	})
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err = enc.Encode(top); err != nil {
		return err
	}
	return enc.Close()
}
