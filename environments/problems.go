package environments

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a place in the configuration file. The zero Pos means "unknown",
// for a Config built in code rather than loaded.
type Pos struct {
	Line, Column int
}

// Problem is one mistake in the configuration, with where it was made.
type Problem struct {
	File string
	Pos  Pos
	Msg  string
}

func (p *Problem) Error() string {
	switch {
	case p.File != "" && p.Pos.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Pos.Line, p.Pos.Column, p.Msg)
	case p.File != "":
		return p.File + ": " + p.Msg
	}
	return p.Msg
}

// Problems is every mistake found in one configuration file, in file order.
// Load and Validate return it so that an operator fixes them all in one go
// rather than one per run.
type Problems []*Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.As find each *Problem.
func (ps Problems) Unwrap() []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errs
}

// problems collects mistakes while decoding or validating one file.
type problems struct {
	file string
	list Problems
}

func (ps *problems) add(at Pos, format string, args ...any) {
	ps.list = append(ps.list, &Problem{File: ps.file, Pos: at, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected problems sorted by position, or nil.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	sort.SliceStable(ps.list, func(i, j int) bool {
		// The configuration file's own problems first, then each included
		// file's, by name.
		if fa, fb := ps.list[i].File, ps.list[j].File; fa != fb {
			return fa == ps.file || (fb != ps.file && fa < fb)
		}
		a, b := ps.list[i].Pos, ps.list[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return ps.list
}
