package validate

import (
	"strconv"
	"strings"
)

// distance is the Levenshtein distance between a and b, compared
// case-insensitively (bytes; names here are ASCII).
func distance(a, b string) int {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// closest returns the candidate nearest to s, if it is near enough to be a
// typo: at most 1 edit for short names, 2 for longer ones, or s with a
// name that one of them extends or truncates.
func closest(s string, candidates []string) (string, bool) {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 1
	if len(s) > 4 {
		limit = 2
	}
	if len(s) > 20 {
		limit = 3
	}
	if best != "" && bestD <= limit {
		return best, true
	}
	// A truncated or extended name: SCMP_CMP_EQUAL for SCMP_CMP_EQ.
	best, bestD = "", 1<<30
	ls := strings.ToLower(s)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		short := min(len(ls), len(lc))
		if short >= 4 && (strings.HasPrefix(ls, lc) || strings.HasPrefix(lc, ls)) {
			if d := distance(s, c); d < bestD {
				best, bestD = c, d
			}
		}
	}
	return best, best != ""
}

// didYouMean is a hint naming the closest candidate, or "".
func didYouMean(s string, candidates []string) string {
	if c, ok := closest(s, candidates); ok {
		return "did you mean " + strconv.Quote(c) + "?"
	}
	return ""
}
