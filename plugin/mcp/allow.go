package mcp

// Allowed reports whether name matches one of globs. An empty (nil) list allows everything:
// no list, no restriction. A glob's '*' matches any run of characters (including none) and '?'
// any one byte; every other byte matches itself. Tenants' allow-lists and the route-level lists
// of the "mcp" section both go through it.
func Allowed(globs []string, name string) bool {
	if globs == nil {
		return true
	}
	for _, g := range globs {
		if Match(g, name) {
			return true
		}
	}
	return false
}

// Match reports whether name matches glob. It runs in O(len(glob)·len(name)) at worst, without
// recursion or allocation, whatever the number of stars.
func Match(glob, name string) bool {
	g, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case g < len(glob) && glob[g] == '*':
			star, mark = g, n
			g++
		case g < len(glob) && (glob[g] == '?' || glob[g] == name[n]):
			g++
			n++
		case star >= 0:
			g = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for g < len(glob) && glob[g] == '*' {
		g++
	}
	return g == len(glob)
}
