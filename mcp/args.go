package mcp

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A param is one tool argument. The tool's input schema and the check of
// its arguments are both made from the params, so what a client is told
// and what the server accepts cannot drift apart. Schemas use one type per
// value (no type arrays, no null), declare every limit as a keyword and
// describe every property: what portable clients need (Gemini's function
// declarations take an OpenAPI subset).
type param struct {
	name     string
	kind     string // "string", "integer", "number", "boolean", or "array" (of strings)
	desc     string
	required bool
	// expect says what a value must be, for error messages; default: the kind.
	expect string
	// min and max bound numbers when hasRange is set.
	min, max float64
	hasRange bool
	// maxLen bounds strings, and each string of an array (characters).
	maxLen int
	// minItems and maxItems bound arrays (maxItems 0: no bound).
	minItems, maxItems int
	def                any // default value, advertised in the schema
	// enum lists the values a string may take (none: any).
	enum []string
}

// params are a tool's arguments, in the order a model should read them.
type params []param

// argError is a bad argument: a sentence that names the argument and says
// what was expected.
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

func argErrorf(format string, a ...any) *argError { return &argError{fmt.Sprintf(format, a...)} }

// schema returns the JSON Schema of the arguments.
func (ps params) schema() json.RawMessage {
	props := map[string]any{}
	var required []string
	for _, p := range ps {
		s := map[string]any{"type": p.kind, "description": p.desc}
		switch p.kind {
		case "string":
			if p.maxLen > 0 {
				s["maxLength"] = p.maxLen
			}
			if len(p.enum) > 0 {
				s["enum"] = p.enum
			}
		case "integer", "number":
			if p.hasRange {
				s["minimum"], s["maximum"] = p.min, p.max
			}
		case "array":
			item := map[string]any{"type": "string", "description": "One " + strings.TrimSuffix(p.itemNoun(), "s")}
			if p.maxLen > 0 {
				item["maxLength"] = p.maxLen
			}
			s["items"] = item
			if p.minItems > 0 {
				s["minItems"] = p.minItems
			}
			if p.maxItems > 0 {
				s["maxItems"] = p.maxItems
			}
		}
		if p.def != nil {
			s["default"] = p.def
		}
		props[p.name] = s
		if p.required {
			required = append(required, p.name)
		}
	}
	out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		out["required"] = required
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	return b
}

// itemNoun is the name of an array's items for messages ("label" for labels).
func (p param) itemNoun() string {
	switch p.name {
	case "paths":
		return "file or folder"
	case "labels":
		return "label"
	case "templates":
		return "template"
	}
	return "tag"
}

func (p param) expected() string {
	if p.expect != "" {
		return p.expect
	}
	switch p.kind {
	case "integer":
		if p.hasRange {
			return fmt.Sprintf("an integer from %s to %s", num(p.min), num(p.max))
		}
		return "an integer"
	case "number":
		if p.hasRange {
			return fmt.Sprintf("a number from %s to %s", num(p.min), num(p.max))
		}
		return "a number"
	case "boolean":
		return "true or false"
	case "array":
		return "an array of strings"
	}
	return "a string"
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// decode checks raw arguments against ps and fills out (a pointer to a
// struct whose json tags are the param names). Numbers and booleans given
// as strings ("5", "true") are accepted; null counts as absent.
func (ps params) decode(tool string, raw any, out any) error {
	args, ok := raw.(map[string]any)
	if raw == nil {
		args, ok = map[string]any{}, true
	}
	if !ok {
		return argErrorf("the arguments of %s must be a JSON object, not %s", tool, jsonKind(raw))
	}
	clean := make(map[string]any, len(args))
	known := map[string]bool{}
	for _, p := range ps {
		known[p.name] = true
		v, present := args[p.name]
		if !present || v == nil {
			if p.required {
				return argErrorf("the argument %q is missing: %s is required (%s)", p.name, p.expected(), strings.TrimSuffix(p.desc, "."))
			}
			continue
		}
		v, err := p.check(v)
		if err != nil {
			return err
		}
		clean[p.name] = v
	}
	var unknown []string
	for k := range args {
		if !known[k] {
			unknown = append(unknown, fmt.Sprintf("%q", k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		names := make([]string, len(ps))
		for i, p := range ps {
			names[i] = p.name
		}
		takes := "no arguments"
		if len(names) > 0 {
			takes = "only " + strings.Join(names, ", ")
		}
		return argErrorf("unknown argument %s: %s takes %s", strings.Join(unknown, ", "), tool, takes)
	}
	b, err := json.Marshal(clean)
	if err != nil {
		return fmt.Errorf("re-encode arguments: %w", err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("bind arguments: %w", err)
	}
	return nil
}

// check validates one value and returns it coerced to the param's kind.
func (p param) check(v any) (any, error) {
	wrong := func() error {
		return argErrorf("the argument %q must be %s, not %s", p.name, p.expected(), jsonKind(v))
	}
	switch p.kind {
	case "string":
		s, ok := v.(string)
		if !ok {
			return nil, wrong()
		}
		if n := utf8.RuneCountInString(s); p.maxLen > 0 && n > p.maxLen {
			return nil, argErrorf("the argument %q is %d characters long; at most %d are accepted", p.name, n, p.maxLen)
		}
		if len(p.enum) > 0 && !slices.Contains(p.enum, s) {
			return nil, argErrorf("the argument %q must be one of %s, not %s", p.name, strings.Join(p.enum, ", "), jsonKind(v))
		}
		return s, nil
	case "integer", "number":
		f, ok := toNumber(v)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, wrong()
		}
		if p.kind == "integer" && f != math.Trunc(f) {
			return nil, argErrorf("the argument %q must be %s, not %s", p.name, p.expected(), num(f))
		}
		if p.hasRange && (f < p.min || f > p.max) {
			return nil, argErrorf("the argument %q must be %s, not %s", p.name, p.expected(), num(f))
		}
		return f, nil
	case "boolean":
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			if x, err := strconv.ParseBool(b); err == nil {
				return x, nil
			}
		}
		return nil, wrong()
	case "array":
		return p.checkArray(v)
	}
	return nil, fmt.Errorf("param %s: unknown kind %q", p.name, p.kind)
}

func (p param) checkArray(v any) (any, error) {
	items, ok := v.([]any)
	if !ok {
		if s, isString := v.(string); isString {
			// A lone string where a list is expected: take it as one item.
			items = []any{s}
		} else {
			return nil, argErrorf("the argument %q must be %s, not %s", p.name, p.expected(), jsonKind(v))
		}
	}
	if len(items) < p.minItems || (p.maxItems > 0 && len(items) > p.maxItems) {
		want := fmt.Sprintf("%d to %d", p.minItems, p.maxItems)
		if p.maxItems == 0 {
			want = fmt.Sprintf("at least %d", p.minItems)
		}
		return nil, argErrorf("the argument %q must have %s %ss, not %d", p.name, want, p.itemNoun(), len(items))
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, argErrorf("item %d of %q must be a string (a %s), not %s", i+1, p.name, p.itemNoun(), jsonKind(it))
		}
		if n := utf8.RuneCountInString(s); p.maxLen > 0 && n > p.maxLen {
			return nil, argErrorf("item %d of %q is %d characters long; at most %d are accepted", i+1, p.name, n, p.maxLen)
		}
		out[i] = s
	}
	return out, nil
}

func toNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		return f, err == nil
	}
	return 0, false
}

// jsonKind names a decoded JSON value's type for messages.
func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			return "a string"
		}
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %t", x)
	case float64, int, int64, json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// portable rewrites a generated JSON Schema so that every "type" is a
// single type: a type array such as ["null","array"] (how Go nil slices
// and pointers come out) becomes its non-null member. Output values are
// never null, so nothing is lost.
func portable(schema json.RawMessage) (json.RawMessage, error) {
	var v any
	if err := json.Unmarshal(schema, &v); err != nil {
		return nil, err
	}
	singleTypes(v)
	return json.Marshal(v)
}

func singleTypes(v any) {
	switch x := v.(type) {
	case map[string]any:
		if ts, ok := x["type"].([]any); ok {
			var keep []any
			for _, t := range ts {
				if t != "null" {
					keep = append(keep, t)
				}
			}
			if len(keep) == 1 {
				x["type"] = keep[0]
			} else {
				x["type"] = keep
			}
		}
		for _, c := range x {
			singleTypes(c)
		}
	case []any:
		for _, c := range x {
			singleTypes(c)
		}
	}
}
