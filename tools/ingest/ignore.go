package ingest

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// IgnoreFile is the name of the file that, in any folder a run walks, lists
// what to leave out of the index there and below, in a subset of
// gitignore's syntax:
//
//   - one pattern a line; blank lines and lines starting with # are
//     skipped (\# for a pattern that starts with #), trailing spaces are
//     dropped;
//   - *, ? and [...] match within a name, as in path.Match; ** matches any
//     number of folders (**/raw, raw/**, a/**/b);
//   - a pattern without a slash matches a file or folder of that name at
//     any depth; one with a slash at the start or in the middle is
//     relative to the folder holding the ignore file (/build, docs/old);
//   - a trailing slash matches folders only (cache/);
//   - ! re-includes what an earlier pattern left out (*.png, then
//     !keep.png); the last pattern that matches decides, and the ignore
//     files of deeper folders come after those above them. A file inside a
//     left-out folder cannot be re-included: the folder is not walked.
//
// Options.Exclude patterns use the same syntax, relative to each folder
// given to the run (or to its root, when Options.Roots are set), and come
// after every ignore file: they have the last word.
const IgnoreFile = ".clipragignore"

// maxIgnoreFile is the largest ignore file read.
const maxIgnoreFile = 1 << 20

// rule is one pattern.
type rule struct {
	negate   bool
	dirOnly  bool
	anchored bool     // relative to the rule set's base, not any depth
	segs     []string // the pattern's names, split at "/"
}

// ruleSet is the rules of one ignore file (or of Options.Exclude), which
// apply under base.
type ruleSet struct {
	base  string // absolute folder
	rules []rule
}

// parseRule parses one pattern line. It returns ok false for blank lines
// and comments, and an error for a pattern path.Match rejects.
func parseRule(line string) (r rule, ok bool, err error) {
	line = strings.TrimRight(line, " \t\r")
	switch {
	case line == "" || strings.HasPrefix(line, "#"):
		return rule{}, false, nil
	case strings.HasPrefix(line, `\#`) || strings.HasPrefix(line, `\!`):
		line = line[1:]
	case strings.HasPrefix(line, "!"):
		r.negate = true
		line = line[1:]
	}
	if strings.HasSuffix(line, "/") {
		r.dirOnly = true
		line = strings.TrimRight(line, "/")
	}
	if strings.Contains(line, "/") {
		r.anchored = true
		line = strings.TrimPrefix(line, "/")
	}
	if line == "" {
		return rule{}, false, nil
	}
	r.segs = strings.Split(line, "/")
	for _, s := range r.segs {
		if _, err := path.Match(s, ""); err != nil {
			return rule{}, false, fmt.Errorf("pattern %q: %w", line, err)
		}
	}
	return r, true, nil
}

// parseRules parses the lines of an ignore file or a list of patterns. A
// bad pattern is an error naming its line.
func parseRules(lines []string) ([]rule, error) {
	var rules []rule
	for i, l := range lines {
		r, ok, err := parseRule(l)
		if err != nil {
			return rules, fmt.Errorf("line %d: %w", i+1, err)
		}
		if ok {
			rules = append(rules, r)
		}
	}
	return rules, nil
}

// match reports whether r matches rel, a slash-separated path relative to
// the rule set's base.
func (r rule) match(rel string, isDir bool) bool {
	if r.dirOnly && !isDir {
		return false
	}
	parts := strings.Split(rel, "/")
	if !r.anchored {
		return matchSegs(r.segs, parts[len(parts)-1:])
	}
	return matchSegs(r.segs, parts)
}

// matchSegs matches names against pattern segments, ** standing for any
// number of names.
func matchSegs(p, s []string) bool {
	for len(p) > 0 {
		if p[0] == "**" {
			if len(p) == 1 {
				return true
			}
			for i := range len(s) + 1 {
				if matchSegs(p[1:], s[i:]) {
					return true
				}
			}
			return false
		}
		if len(s) == 0 {
			return false
		}
		if ok, _ := path.Match(p[0], s[0]); !ok {
			return false
		}
		p, s = p[1:], s[1:]
	}
	return len(s) == 0
}

// ignores is the stack of rule sets in force while the walk is in a folder.
type ignores []ruleSet

// excluded reports whether the file or folder at abs is left out: the last
// rule that matches it decides.
func (ig ignores) excluded(abs string, isDir bool) bool { return ig.decide(abs, isDir, false) }

// decide is excluded for a path that earlier rules have left out (out) or not.
func (ig ignores) decide(abs string, isDir, out bool) bool {
	for _, set := range ig {
		if abs == set.base || !under(abs, set.base) {
			continue
		}
		rel, err := filepath.Rel(set.base, abs)
		if err != nil {
			continue
		}
		rel = filepath.ToSlash(rel)
		for _, r := range set.rules {
			if r.match(rel, isDir) {
				out = !r.negate
			}
		}
	}
	return out
}

// CheckExclude checks Options.Exclude patterns, so that a front end can
// refuse a bad one before a run.
func CheckExclude(patterns []string) error {
	for _, p := range patterns {
		if _, _, err := parseRule(p); err != nil {
			return fmt.Errorf("exclude %w", err)
		}
	}
	return nil
}
