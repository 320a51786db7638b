package redis

// match reports whether key matches the glob pattern the way Redis's
// SCAN MATCH does: * is any run of bytes, ? one byte, [abc], [^abc] and
// [a-z] a class of bytes, and a backslash makes the next byte literal.
func match(pattern, key string) bool {
	switch {
	case pattern == "*":
		return true
	case key == "":
		// SCAN skips matching for the pattern "*" alone, and Redis's
		// matcher never matches an empty key.
		return false
	}
	p, k := 0, 0
	// starP and starK are where the last * began, to retry from after
	// a mismatch.
	starP, starK := -1, 0
	for k < len(key) || p < len(pattern) {
		if p < len(pattern) {
			if pattern[p] == '*' {
				for p < len(pattern) && pattern[p] == '*' {
					p++
				}
				if p == len(pattern) {
					return true
				}
				starP, starK = p, k
				continue
			}
			if k < len(key) {
				if n, ok := matchOne(pattern[p:], key[k]); ok {
					p += n
					k++
					continue
				}
			}
		}
		if starP < 0 || starK >= len(key) {
			return false
		}
		starK++
		p, k = starP, starK
	}
	return true
}

// matchOne matches one byte against the start of pattern, which is not
// a *, and returns how many pattern bytes it took.
func matchOne(pattern string, c byte) (int, bool) {
	switch pattern[0] {
	case '?':
		return 1, true
	case '\\':
		if len(pattern) >= 2 {
			return 2, pattern[1] == c
		}
		return 1, c == '\\'
	case '[':
		return matchClass(pattern, c)
	}
	return 1, pattern[0] == c
}

// matchClass matches c against the class at the start of pattern. Like
// Redis, it takes an unterminated class to end with the pattern.
func matchClass(pattern string, c byte) (int, bool) {
	i := 1
	not := i < len(pattern) && pattern[i] == '^'
	if not {
		i++
	}
	found := false
	for {
		switch {
		case i >= len(pattern):
			return i, found != not
		case pattern[i] == '\\' && i+1 < len(pattern):
			found = found || pattern[i+1] == c
			i += 2
		case pattern[i] == ']':
			return i + 1, found != not
		case i+2 < len(pattern) && pattern[i+1] == '-':
			lo, hi := pattern[i], pattern[i+2]
			if lo > hi {
				lo, hi = hi, lo
			}
			found = found || (c >= lo && c <= hi)
			i += 3
		default:
			found = found || pattern[i] == c
			i++
		}
	}
}
